"""float32 against bfloat16 runs of each model, over seeds, from the metrics.json that --phase compare wrote.

    python scripts/compare_precisions.py FLOAT32_RESULT_DIR BFLOAT16_RESULT_DIR [--dataset mnist]

Each result folder is a --result_dir of scripts/compare_seeds.sh (e.g. runs_5ep/results), the second one
trained with --precision bfloat16. Prints a markdown table and one verdict per model and metric.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from evaluation.compare import matching_runs  # noqa: E402
from evaluation.report import REPORTED, mean_std, verdict  # noqa: E402
from config import MODEL_NAMES, PRECISIONS  # noqa: E402
from evaluation.evaluate import read_result  # noqa: E402


def precision_metrics(result_dirs, dataset, batch_size=64, z_dim=62):
    """{(gan_type, precision): [metrics of each seed's run]}; runs without metrics.json are skipped."""
    found = {}
    for precision, result_dir in zip(PRECISIONS, result_dirs):
        names = os.listdir(result_dir) if os.path.isdir(result_dir) else []
        runs, _ = matching_runs(names, dataset, batch_size, z_dim, precision)
        for gan_type, seeds in runs.items():
            results = [read_result(os.path.join(result_dir, name)) for _, name in sorted(seeds.items())]
            found[(gan_type, precision)] = [r["model"] for r in results if r is not None]
    return found


def report(found, keys=("fcd", "kid", "classifier_score")):
    """Markdown: a mean ± std table per model and precision, then the verdicts."""
    labels = {key: (label, lower) for key, label, lower in REPORTED}
    lines = ["| model | precision | seeds | " + " | ".join(labels[k][0] for k in keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    verdicts = []
    for gan_type in MODEL_NAMES:
        stats = {}
        for precision in PRECISIONS:
            runs = found.get((gan_type, precision), [])
            stats[precision] = {k: (*mean_std([m[k] for m in runs]), len(runs)) for k in keys} if runs else None
            cells = [f"{stats[precision][k][0]:.4g} ± {stats[precision][k][1]:.2g}" if runs else "—" for k in keys]
            lines.append(f"| {gan_type} | {precision} | {len(runs)} | " + " | ".join(cells) + " |")
        if all(stats.values()):
            verdicts += [f"- {gan_type}, " + verdict(labels[k][0], labels[k][1], stats["float32"][k],
                                                     stats["bfloat16"][k], names=("float32", "bfloat16"))
                         for k in keys]
    return "\n".join(lines + [""] + verdicts) + "\n"


def main(argv=None):
    """Print the report, or a one-line error with exit status 2."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("float32_result_dir")
    p.add_argument("bfloat16_result_dir")
    p.add_argument("--dataset", default="mnist")
    args = p.parse_args(argv)
    found = precision_metrics([args.float32_result_dir, args.bfloat16_result_dir], args.dataset)
    if not any(found.values()):
        p.exit(2, f"error: no run with a metrics.json under {args.float32_result_dir} or "
                  f"{args.bfloat16_result_dir}: run scripts/compare_seeds.sh first\n")
    print(report(found), end="")


if __name__ == "__main__":
    main()
