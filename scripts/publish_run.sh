#!/usr/bin/env bash
# Keep a finished run's evidence in the repository: its config.json, train_log.csv and metrics.json (from
# --phase eval or compare) go to docs/runs/<model_dir>/, a few KB each. Checkpoints never do.
# `python main.py --phase compare --result_dir docs/runs` reports the published runs from these files alone.
#
#   scripts/publish_run.sh [--to FOLDER] results/SAGAN_mnist_64_62 [more results folders...]
set -euo pipefail
cd "$(dirname "$0")/.."
to=docs/runs
if [ "${1:-}" = "--to" ]; then
  [ $# -ge 2 ] || { echo "error: --to needs a folder" >&2; exit 2; }
  to="$2"; shift 2
fi
[ $# -ge 1 ] || { echo "usage: $0 [--to FOLDER] RESULTS_FOLDER..." >&2; exit 2; }
for folder in "$@"; do
  for name in config.json train_log.csv metrics.json; do
    [ -f "$folder/$name" ] || { echo "error: $folder has no $name; train the run to its end and evaluate it (--phase eval) first" >&2; exit 2; }
  done
done
for folder in "$@"; do
  out="$to/$(basename "$folder")"
  mkdir -p "$out"
  cp "$folder/config.json" "$folder/train_log.csv" "$folder/metrics.json" "$out/"
  echo "published $folder in $out"
done
