"""ASR: CTC pieces against hand-worked cases and torch's own loss, and the heads end to end."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from benchmark import evaluate
from benchmark.heads.bilstm import BiLSTM
from benchmark.heads.ctc import BiLSTMHead, CharVocabulary, ctc_infeasible, greedy, grid_ctc_loss, targets_of
from benchmark.errors import ProtocolError
from benchmark.protocols.asr import check_feasible
from tests.support.family_tasks import write_asr_task
from tests.support.helpers import Coarse


def test_vocabulary_and_greedy_decoding_by_hand():
    vocab = CharVocabulary(["ab", "ba c"])
    assert vocab.chars == [" ", "a", "b", "c"] and len(vocab) == 5
    assert vocab.encode("cab?") == [4, 2, 3]  # '?' never seen: dropped
    a, b, blank = 2, 3, 0
    path = [a, a, blank, a, b, b, blank, blank, a]  # "aa-abb--a" -> "aaba"
    logits = F.one_hot(torch.tensor([path]), 5).float()
    assert [vocab.decode(ids) for ids in greedy(logits, [len(path)])] == ["aaba"]
    assert [vocab.decode(ids) for ids in greedy(logits, [3])] == ["a"]  # only the valid frames


def test_grid_ctc_loss_is_torchs_ctc_loss_per_grid_point():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 2, 12, 5, generator=gen)  # [G, b, T, C]
    mask = torch.arange(12)[None, :] < torch.tensor([12, 9])[:, None]
    texts = [[1, 2, 2], [3, 4]]
    ours = grid_ctc_loss(logits, mask, targets_of(texts))
    for g in range(3):
        ref = [F.ctc_loss(logits[g, i, :n].log_softmax(-1)[:, None], torch.tensor([t]), [n], [len(t)],
                          reduction="sum") / len(t) for i, (n, t) in enumerate(zip([12, 9], texts))]
        assert float(ours[g]) == pytest.approx(float(sum(ref) / 2), rel=1e-5)


@pytest.fixture(scope="module")
def asr_task(tmp_path_factory):
    return write_asr_task(tmp_path_factory.mktemp("asr") / "letters")


def test_linear_ctc_head_transcribes_tone_letters(asr_task):
    (record,) = evaluate("logmel", [asr_task], options={"max_epochs": 150, "patience": 30}, progress=False)
    assert record["metrics"]["cer"] <= 0.35 and 0 <= record["metrics"]["wer"] <= 1.0
    assert record["protocol"]["chosen"]["vocabulary"] == 5  # blank, space, a, b, c
    assert record["main_metric"] == "wer"


def test_bilstm_ctc_head_runs_end_to_end_and_reports(asr_task):
    (record,) = evaluate("logmel", [asr_task], protocol="bilstm",
                         options={"hidden": 16, "max_epochs": 2, "patience": 2}, progress=False)
    chosen = record["protocol"]["chosen"]
    assert chosen["hidden"] == 16 and 1 <= chosen["epochs"] <= 2 and chosen["valid_cer"] >= 0  # insertions can push CER past 1
    assert set(record["metrics"]) == {"wer", "cer"}


def test_bilstm_head_learns_a_weighting_of_layers():
    head = BiLSTMHead(6, 5, hidden=8, layers=3).eval()
    x = torch.randn(2, 7, 3, 6)
    mask = torch.arange(7)[None, :] < torch.tensor([7, 4])[:, None]
    out = head(x, mask)
    assert out.shape == (2, 7, 5)
    assert head.layer_weights() == pytest.approx([1 / 3] * 3, abs=1e-4)
    torch.testing.assert_close(head(x[1:2, :4], mask[1:, :4])[0], out[1, :4])  # padding does not leak


def test_bilstm_stacks_frames_to_superb_rate_and_masks_the_output():
    from benchmark.heads.ctc import stack_frames
    x = torch.arange(2 * 5 * 2, dtype=torch.float32).reshape(2, 5, 2)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    stacked, out_mask = stack_frames(x, mask, 2)
    assert stacked.shape == (2, 3, 4)
    assert stacked[0, 0].tolist() == x[0, :2].flatten().tolist()
    assert stacked[0, 2].tolist() == [8.0, 9.0, 0.0, 0.0]  # the odd last frame is zero-padded
    assert stacked[1, 1].tolist() == [14.0, 15.0, 0.0, 0.0]  # padding frames never leak in
    assert out_mask.sum(1).tolist() == [3, 2]
    head = BiLSTMHead(2, 4, hidden=3, stack=2).eval()
    assert head(x, mask).shape == (2, 3, 4)
    assert head.output_mask(mask).tolist() == out_mask.tolist()


def test_padded_bilstm_is_torchs_packed_bidirectional_lstm():
    torch.manual_seed(0)
    reference = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    torch.manual_seed(0)
    ours = BiLSTM(5, 7, num_layers=2)  # takes the reference's initialisation
    x, lengths = torch.randn(3, 9, 5), torch.tensor([9, 4, 6])
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = torch.nn.utils.rnn.pad_packed_sequence(reference(packed)[0], batch_first=True)
    valid = torch.arange(9)[None, :] < lengths[:, None]
    torch.testing.assert_close(ours(x, lengths)[valid], expected[valid], atol=1e-6, rtol=1e-5)


def test_ctc_feasibility_counts_the_blanks_between_repeats():
    # "ab" needs 2 frames, "aa" 3 (a blank between), "abc" 3
    assert ctc_infeasible([[1, 2], [1, 1], [1, 2, 3]], [2, 2, 2]) == pytest.approx(2 / 3)
    assert ctc_infeasible([[1, 1]], [3]) == 0.0


def test_bilstm_repeats_coarse_frames_up_to_superb_rate():
    head = BiLSTMHead(2, 4, hidden=3, upsample=3).eval()
    x = torch.randn(2, 4, 2)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    assert head(x, mask).shape == (2, 12, 4)
    assert head.output_mask(mask).sum(1).tolist() == [12, 6]
    torch.testing.assert_close(head(x[1:, :2], mask[1:, :2])[0], head(x, mask)[1, :6])  # padding does not leak
    with pytest.raises(ValueError, match="one way"):
        BiLSTMHead(2, 4, stack=2, upsample=2)


def test_frame_wise_ctc_warns_about_transcripts_longer_than_coarse_frames_and_the_bilstm_upsamples(asr_task):
    # 160 ms frames; the letters are 130 ms apart, so many transcripts do not fit their frames
    with pytest.warns(UserWarning, match=r"coarse \(160 ms frames, linear probe\): \d+% of training transcripts"):
        (linear,) = evaluate(Coarse(16), [asr_task], name="coarse", options={"max_epochs": 2}, progress=False)
    assert 0 < linear["protocol"]["chosen"]["ctc_infeasible"] < 1
    (record,) = evaluate(Coarse(16), [asr_task], name="coarse", protocol="bilstm",
                         options={"hidden": 16, "max_epochs": 2, "patience": 2}, progress=False)
    chosen = record["protocol"]["chosen"]
    assert chosen["upsample"] == 8 and chosen["stack"] == 1 and chosen["ctc_infeasible"] == 0.0


def test_ctc_with_no_feasible_transcript_is_an_error_naming_task_and_upstream():
    ctx = SimpleNamespace(task=SimpleNamespace(name="mini-asr"), upstream_name="eat-tiny",
                          hop_ms=160.0)
    with pytest.raises(ProtocolError, match=r"mini-asr with eat-tiny \(160 ms frames, linear probe\): every "
                                            r"training transcript .* --protocol bilstm"):
        check_feasible(ctx, [[1, 2, 3], [1, 1]], [2, 2], "linear")


def test_mlp_ctc_grid_transcribes_tone_letters(asr_task):
    (record,) = evaluate("logmel", [asr_task], protocol="mlp",
                         options={"hidden": 64, "max_epochs": 200, "patience": 60}, progress=False)
    chosen = record["protocol"]["chosen"]
    assert chosen["hidden_layers"] in (1, 2) and chosen["hidden"] == 64
    assert record["metrics"]["cer"] <= 0.6  # an empty transcript scores 1.0; HEAR's lower learning rates are slower here
