"""Tiny randomly initialised transformers audio encoders, saved as a Hub repo would hold them.

Each builder writes `config.json`, the weights and the repo's `preprocessor_config.json`
(and a tokenizer for CLAP) into a folder, from the model's own transformers config classes
with tiny sizes: what `hf:FOLDER` loads offline.
"""
from __future__ import annotations

from pathlib import Path

import torch
import transformers as T
from tokenizers import ByteLevelBPETokenizer

#: a 3-layer conv feature encoder (strides 5·4·2 = 40 samples, 2.5 ms at 16 kHz) and 2 Transformer layers
SPEECH = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
              conv_dim=(16, 16, 16), conv_stride=(5, 4, 2), conv_kernel=(10, 4, 2),
              num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, hidden_dropout=0.0,
              attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0)
SPEECH_MODELS = {
    "wav2vec2": (T.Wav2Vec2Config, T.Wav2Vec2Model),
    "hubert": (T.HubertConfig, T.HubertModel),
    "wavlm": (T.WavLMConfig, T.WavLMModel),
    "data2vec-audio": (T.Data2VecAudioConfig, T.Data2VecAudioModel),
}


def save(model: torch.nn.Module, extractor: object, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder


def speech_encoder(folder: Path, model_type: str, norm: str = "group", mask: bool = False) -> Path:
    """wav2vec2 / HuBERT / WavLM / data2vec-audio; `norm` = the conv feature encoder's normalisation
    (data2vec-audio's is always layer norm) and `mask` = whether the feature extractor asks for an
    attention mask (as wav2vec2-base's does not and wav2vec2-large-lv60's does)."""
    config_class, model_class = SPEECH_MODELS[model_type]
    kwargs = dict(SPEECH)
    if model_type == "data2vec-audio":
        kwargs.update(num_conv_pos_embeddings=5, conv_pos_kernel_size=5)
    else:
        kwargs["feat_extract_norm"] = norm
    torch.manual_seed(0)
    model = model_class(config_class(**kwargs))
    extractor = T.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True, return_attention_mask=mask)
    return save(model, extractor, folder)


def whisper(folder: Path, chunk_s: int = 2) -> Path:
    """Whisper with a `chunk_s`-second window (the real one is 30 s) so that windowing is cheap to test."""
    torch.manual_seed(0)
    extractor = T.WhisperFeatureExtractor(feature_size=16, chunk_length=chunk_s)
    config = T.WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                             decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=16,
                             max_source_positions=extractor.nb_max_frames // 2, max_target_positions=16,
                             vocab_size=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                             decoder_start_token_id=1)
    return save(T.WhisperModel(config), extractor, folder)


def ast(folder: Path) -> Path:
    """AST over 32 mel bands and 1.28 s windows (128 frames): 3 x 12 patches of 16 with stride 10."""
    torch.manual_seed(0)
    config = T.ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         num_mel_bins=32, max_length=128, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    extractor = T.ASTFeatureExtractor(num_mel_bins=32, max_length=128)
    return save(T.ASTModel(config), extractor, folder)


def byte_tokenizer(folder: Path) -> T.PreTrainedTokenizerBase:
    """A RoBERTa (byte-level BPE) tokenizer trained here on a few captions: no download."""
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["the sound of a dog barking", "rain falls on a roof", "a bell rings twice"],
                            vocab_size=300, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(folder))
    return T.RobertaTokenizer.from_pretrained(folder)  # reads the vocab.json + merges.txt just written


def clap(folder: Path) -> Path:
    """CLAP: a 2-stage HTSAT audio tower on 1 s windows at 16 kHz, a 2-layer RoBERTa text tower."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = byte_tokenizer(folder)
    torch.manual_seed(0)
    audio = dict(spec_size=64, num_mel_bins=16, window_size=4, patch_size=4, patch_stride=(4, 4), depths=(1, 1),
                 num_attention_heads=(2, 4), hidden_size=32, patch_embeds_hidden_size=16, projection_dim=16,
                 hidden_dropout_prob=0.0, drop_path_rate=0.0, enable_fusion=False)
    text = dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=64, max_position_embeddings=64, projection_dim=16, hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0, pad_token_id=tokenizer.pad_token_id)
    model = T.ClapModel(T.ClapConfig(audio_config=audio, text_config=text, projection_dim=16))
    extractor = T.ClapFeatureExtractor(feature_size=16, sampling_rate=16000, hop_length=160, max_length_s=1,
                                       fft_window_size=400, frequency_max=8000, truncation="rand_trunc",
                                       padding="repeatpad")
    tokenizer.save_pretrained(folder)
    return save(model, extractor, folder)
