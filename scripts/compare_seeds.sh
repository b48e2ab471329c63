#!/usr/bin/env bash
# Train every registered model on seeds 0..K-1 for E epochs each, measure them, then write the comparison report
# into runs_<E>ep/compare_<dataset>[_bf16]/.
# Usage: scripts/compare_seeds.sh [K=3] [E=20] [dataset=mnist] [more main.py flags, e.g. --precision bfloat16]
# Runs of E epochs live under runs_<E>ep/, apart from runs of another length. Rerunning resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
epochs=${2:-20}
dataset=${3:-mnist}
extra=("${@:4}")
out="runs_${epochs}ep"
dirs=(--checkpoint_dir "$out/checkpoint" --result_dir "$out/results" --log_dir "$out/logs")
models=$(python -c 'import config; print(*config.MODEL_NAMES)')
for seed in $(seq 0 $((seeds - 1))); do
  for gan_type in $models; do
    python main.py --gan_type "$gan_type" --dataset "$dataset" --seed "$seed" --epoch "$epochs" "${dirs[@]}" "${extra[@]}"
  done
done
report=$(python -c 'import sys, config, evaluation.compare as c
print(c.report_dir_name(sys.argv[1], "bfloat16" if "bfloat16" in sys.argv[2:] else "float32"))' "$dataset" "${extra[@]}")
python main.py --phase compare --measure --report_dir "$out/$report" --dataset "$dataset" "${dirs[@]}" "${extra[@]}"
