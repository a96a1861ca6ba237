#!/usr/bin/env bash
# A short GPU pre-training run of the tiny recipes (issue 18), for when a GPU is at hand: each
# recipe's schedule is sized to BUDGET_MIN minutes of this GPU (bf16 autocast) by --max-minutes,
# up to MAX_STEPS, then scored against its init and logmel as scripts/pretrain_evidence.sh does.
#
# The default recipes are the four that did not beat their init in 15 CPU minutes
# (docs/pretraining.md, "Evidence"): on a GPU the same minutes give them 10-100x the steps.
#
#   scripts/pretrain_gpu.sh                                    # 4 recipes x 2 minutes, then evaluation
#   BUDGET_MIN=1 MAX_STEPS=5 EVAL=0 scripts/pretrain_gpu.sh    # a smoke test
set -euo pipefail
export BUDGET_MIN=${BUDGET_MIN:-2}
export MAX_STEPS=${MAX_STEPS:-20000}
export RUNS=${RUNS:-runs/gpu}
export RESULTS=${RESULTS:-results/gpu}
export RECIPES=${RECIPES:-"wav2vec2-tiny bestrq-tiny ssm-matpac-tiny clap-tiny"}
export WORKERS=${WORKERS:-6}
export DEVICE=cuda
exec "$(dirname "$0")/pretrain_evidence.sh"
