#!/usr/bin/env bash
# Evidence that the in-repo encoders learn (issue 18): pre-train each tiny recipe to a
# *completed* schedule within a fixed CPU budget, then score it against its random init and
# logmel with item-level records (`--layer weighted`, several seeds).
#
#   scripts/pretrain_evidence.sh                       # every recipe, 25 CPU minutes each, one at a time
#   BUDGET_MIN=20 RECIPES="byola-tiny hubert-tiny" scripts/pretrain_evidence.sh
#   EVAL=0 scripts/pretrain_evidence.sh                # pre-train only
#
# --max-minutes sizes each schedule (warm-up, cosine, EMA / temperature) from a timing probe so
# that it completes inside BUDGET_MIN, up to MAX_STEPS; train.log says the steps chosen, and
# warns if a run collapses (docs/pretraining.md). Speech recipes are scored on the speech tasks,
# spectrogram and audio-text ones on sound and music (audio-text on retrieval too);
# hubert-iter2-tiny reads runs of hubert-tiny.
set -euo pipefail

BUDGET_MIN=${BUDGET_MIN:-25}          # CPU minutes per recipe (set-up and timing probe included)
MAX_STEPS=${MAX_STEPS:-100000}        # the schedule is min(MAX_STEPS, what fits the budget)
DATA=${DATA:-mini-pretrain}           # any audio folder; for hours of audio, a larger mini build (tasks/mini/README.md)
RUNS=${RUNS:-runs/evidence}
RESULTS=${RESULTS:-results/evidence}
SEEDS=${SEEDS:-3}
WORKERS=${WORKERS:-1}
EVAL=${EVAL:-1}
KEEP=${KEEP:-0}                       # checkpoints kept per run (0: all, for the learning curves)
DEVICE=${DEVICE:-cpu}                # scripts/pretrain_gpu.sh sets cuda
RECIPES=${RECIPES:-"byola-tiny hubert-tiny hubert-iter2-tiny eat-tiny matpac-tiny audiomae-tiny wav2vec2-tiny bestrq-tiny ssm-matpac-tiny clap-tiny"}
SPEECH_TASKS=${SPEECH_TASKS:-"mini-kws mini-speaker mini-sv mini-lid mini-asr"}
SOUND_TASKS=${SOUND_TASKS:-"mini-scenes mini-tagging mini-sed mini-instrument mini-pitch"}
EARBENCH=${EARBENCH:-earbench}

for recipe in $RECIPES; do
    out="$RUNS/$recipe"
    data="$DATA"
    case "$recipe" in
        clap-*) data=${CLAP_DATA:-mini-retrieval} ;;  # (clip, caption) pairs
        hubert-iter2-*)  # iteration 2 clusters the iteration-1 run its recipe names: runs/hubert-tiny
            if [ ! -d "$RUNS/hubert-tiny" ]; then echo "== skip $recipe: run hubert-tiny first"; continue; fi
            if [ "$(realpath -m runs/hubert-tiny)" != "$(realpath "$RUNS/hubert-tiny")" ]; then
                [ ! -e runs/hubert-tiny ] || { echo "runs/hubert-tiny exists and is not $RUNS/hubert-tiny"; exit 1; }
                mkdir -p runs && ln -s "$(realpath "$RUNS/hubert-tiny")" runs/hubert-tiny
            fi ;;
    esac
    if ! ls -d "$out"/step-* >/dev/null 2>&1; then
        echo "== pre-train $recipe: $BUDGET_MIN CPU minutes, at most $MAX_STEPS steps -> $out"
        OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$EARBENCH" pretrain --recipe "$recipe" --data "$data" --out "$out" \
            --max-minutes "$BUDGET_MIN" --max-steps "$MAX_STEPS" --workers "$WORKERS" --device "$DEVICE" --keep "$KEEP"
    fi
    grep -E "schedule sized|stopped at|warning: (collapse|this run)" "$out/train.log" || true
    [ "$EVAL" = 1 ] || continue
    case "$recipe" in
        wav2vec2-*|hubert-*|bestrq-*) tasks=$SPEECH_TASKS ;;
        clap-*) tasks="$SOUND_TASKS mini-retrieval" ;;  # audio-text: its own paradigm's task too
        *) tasks=$SOUND_TASKS ;;
    esac
    task_args=() names=()
    for t in $tasks; do task_args+=(--task "$t"); names+=(--task "$(basename "$t")"); done
    echo "== evaluate $recipe against $recipe@init and logmel on: $tasks"
    "$EARBENCH" run --model "ckpt:$out" --model "ckpt:$out/init" --model logmel "${task_args[@]}" \
        --layer weighted --seeds "$SEEDS" --results "$RESULTS"
    "$EARBENCH" compare "$recipe" "$recipe@init" --results "$RESULTS" "${names[@]}" || true
    "$EARBENCH" compare "$recipe" logmel --results "$RESULTS" "${names[@]}" || true
done
echo "records in $RESULTS; the verdicts above are item-level paired tests (earbench compare)"
