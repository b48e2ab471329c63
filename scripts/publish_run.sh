#!/usr/bin/env bash
# Keep a finished run's evidence in the repository: its config.json, train_log.csv and metrics.json (from
# --phase eval or compare) go to docs/runs/<model_dir>/, a few KB each. Checkpoints never do.
#
#   scripts/publish_run.sh results/SAGAN_mnist_64_62 [more results folders...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 RESULTS_FOLDER..." >&2; exit 2; }
for folder in "$@"; do
  for name in config.json train_log.csv metrics.json; do
    [ -f "$folder/$name" ] || { echo "error: $folder has no $name; train the run to its end and evaluate it (--phase eval) first" >&2; exit 2; }
  done
done
for folder in "$@"; do
  out="docs/runs/$(basename "$folder")"
  mkdir -p "$out"
  cp "$folder/config.json" "$folder/train_log.csv" "$folder/metrics.json" "$out/"
  echo "published $folder in $out"
done
