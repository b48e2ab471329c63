"""--phase compare: GAN against SAGAN over the seeds trained, as report.md and report.html."""
import dataclasses
import glob
import html
import os
import re
import shutil

import numpy as np

from config import MODEL_NAMES, PRECISION_SUFFIX, parse_model_dir
from errors import UserError
from evaluate import evaluate_checkpoint, read_result
from interrupts import activity, replaced_atomically
from models import model_class
from runlog import STEP_LOG, TRAIN_LOG, read_csv
from utils import plot_curves

GAN_TYPES = MODEL_NAMES
# (key, label, True when lower is better)
REPORTED = [("fcd", "FCD", True), ("kid", "KID", True), ("classifier_score", "classifier score", False),
            ("precision", "precision", False), ("recall", "recall", False),
            ("classes_covered", "classes covered", False), ("kl_from_uniform", "KL from uniform", True)]
_CHECKPOINT_PATH = re.compile(r'^model_checkpoint_path: ".*-(\d+)"$', re.MULTILINE)


def report_dir_name(dataset, precision):
    """The folder under --result_dir that holds a comparison's report."""
    return f"compare_{dataset}{PRECISION_SUFFIX[precision]}"


def matching_runs(names, dataset, batch_size, z_dim, precision):
    """({gan_type: {seed: name}}, [(name, why it is not one of them)]) of folder names of runs."""
    runs, skipped = {t: {} for t in GAN_TYPES}, []
    wanted = dict(dataset=dataset, batch_size=batch_size, z_dim=z_dim, precision=precision)
    for name in sorted(names):
        fields = parse_model_dir(name)
        if fields is None:
            if not name.startswith(("compare_", "classifier_")):  # the project's own folders of other kinds
                skipped.append((name, "its name is not a model_dir"))
            continue
        differs = [f"{key} {fields[key]}" for key, value in wanted.items() if fields[key] != value]
        if differs:
            skipped.append((name, f"another {', '.join(differs)} than asked"))
            continue
        runs[fields["gan_type"]][fields["seed"]] = name
    return runs, skipped


def checkpoint_step(folder):
    """The step of the newest checkpoint listed in folder/checkpoint, or None."""
    try:
        with open(os.path.join(folder, "checkpoint")) as f:
            match = _CHECKPOINT_PATH.search(f.read())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def find_runs(folders, dataset, batch_size, z_dim, precision, log=print):
    """{gan_type: {seed: model_dir}} of the runs that have a checkpoint; says which folders it skips and why."""
    names = set()
    for root in (folders.checkpoint_dir, folders.result_dir):
        if os.path.isdir(root):
            names |= {n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))}
    runs, skipped = matching_runs(names, dataset, batch_size, z_dim, precision)
    for gan_type, seeds in runs.items():
        for seed, name in list(seeds.items()):
            if checkpoint_step(folders.of("checkpoint", name)) is None:
                skipped.append((name, f"no checkpoint in {folders.of('checkpoint', name)}"))
                del seeds[seed]
    for name, why in sorted(skipped):
        log(f"compare: skipping {name}: {why}")
    return runs


def compare(base, folders, classifier, splits, num_eval_samples, session, log=print):
    """Evaluate every run of base's dataset, batch size, z_dim and precision that needs it, then write the report.

    A run is evaluated again when its metrics.json is missing or older than its newest checkpoint.
    session() gives a new graph's session.
    """
    runs = find_runs(folders, base.dataset, base.batch_size, base.z_dim, base.precision, log)
    for gan_type in GAN_TYPES:
        if not runs[gan_type]:
            raise UserError(f"no {gan_type} run with a checkpoint under {folders.checkpoint_dir} for "
                            f"{base.dataset}, batch {base.batch_size}, z_dim {base.z_dim}, {base.precision}: "
                            f"train it first with --gan_type {gan_type}")
    parameter_counts = {}
    for gan_type in GAN_TYPES:
        for seed, name in runs[gan_type].items():
            result = read_result(folders.of("result", name))
            step = checkpoint_step(folders.of("checkpoint", name))
            if result is None or result.get("step", step) != step:
                with session() as sess, activity(f"evaluating {name}", "the runs evaluated before it keep "
                                                                       "their metrics.json"):
                    model = build(dataclasses.replace(base, gan_type=gan_type, seed=seed), folders, sess)
                    evaluate_checkpoint(model, classifier, splits, num_eval_samples, log)
        with session():
            model = build(dataclasses.replace(base, gan_type=gan_type), folders, None)
            parameter_counts[gan_type] = tuple(sum(v.shape.num_elements() for v in variables)
                                               for variables in (model.g_vars, model.d_vars))
    result_dirs = {t: {seed: folders.of("result", name) for seed, name in runs[t].items()} for t in GAN_TYPES}
    out_dir = os.path.join(folders.result_dir, report_dir_name(base.dataset, base.precision))
    with activity("writing the report", "each file of it is whole or absent"):
        return write_report(result_dirs, parameter_counts, out_dir, log)


def build(config, folders, sess):
    """A model of config with its graph built."""
    model = model_class(config.gan_type)(sess, config, folders)
    model.build_model()
    return model


def mean_std(values):
    """(mean, std) with std 0 for one value."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def verdict(label, lower_is_better, first_stats, second_stats, names=GAN_TYPES):
    """One sentence on a metric, derived from the means and spreads; no verdict where seeds can't support one.

    first_stats and second_stats are (mean, std, number of seeds) of the two sides, called names.
    """
    (a_mean, a_std, a_seeds), (b_mean, b_std, b_seeds) = first_stats, second_stats
    first, second = names
    difference = b_mean - a_mean
    if min(a_seeds, b_seeds) < 2:
        return (f"{label}: {second} {b_mean:.4g}, {first} {a_mean:.4g} (difference {difference:+.4g}); one seed of "
                f"at least one side, so the spread over seeds is unknown and no verdict is drawn.")
    spread = max(a_std, b_std)
    if abs(difference) <= spread:
        return (f"{label}: the difference ({difference:+.4g}) is within the spread over seeds (std up to "
                f"{spread:.4g}); the models cannot be told apart on it.")
    better = second if (difference < 0) == lower_is_better else first
    return f"{label}: {better} is better by {abs(difference):.4g}, more than the spread over seeds ({spread:.4g})."


def _epoch_seconds(folder):
    rows = read_csv(os.path.join(folder, TRAIN_LOG))
    return float(np.median([float(r["seconds"]) for r in rows])) if rows else float("nan")


def write_report(runs, parameter_counts, out_dir, log=print):
    """Write report.md, report.html and their figures into out_dir; returns the markdown."""
    metrics = {t: {seed: read_result(f) for seed, f in runs[t].items()} for t in GAN_TYPES}
    os.makedirs(out_dir, exist_ok=True)
    lines = ["# GAN against SAGAN", "",
             f"Seeds: GAN {sorted(runs['GAN'])}, SAGAN {sorted(runs['SAGAN'])}. Each metric compares "
             f"{next(iter(metrics['GAN'].values()))['num_samples']} generated images with the test set in the "
             f"classifier's feature space; 'real floor' is real training images against the test set.", "",
             "| metric | GAN | SAGAN | real floor |", "|---|---|---|---|"]
    summary = {}
    for key, label, lower in REPORTED:
        cells = []
        for gan_type in GAN_TYPES:
            values = [m["model"][key] for m in metrics[gan_type].values()]
            mean, std = mean_std(values)
            summary[(gan_type, key)] = (mean, std, len(values))
            cells.append(f"{mean:.4g} ± {std:.2g}" if len(values) > 1 else f"{mean:.4g}")
        floor = np.mean([m["real_floor"][key] for ms in metrics.values() for m in ms.values()])
        lines.append(f"| {label} {'↓' if lower else '↑'} | {cells[0]} | {cells[1]} | {floor:.4g} |")
    lines += ["", "## What the numbers say", ""]
    lines += [f"- {verdict(label, lower, summary[('GAN', key)], summary[('SAGAN', key)])}"
              for key, label, lower in REPORTED]

    with_grids = [s for s in set(runs["GAN"]) & set(runs["SAGAN"])
                  if all(glob.glob(os.path.join(runs[t][s], "epoch_*.png")) for t in GAN_TYPES)]
    seed = min(with_grids, default=None)
    if seed is not None:
        lines += ["", f"## Samples from identical z (seed {seed}, last epoch)", ""]
        for gan_type in GAN_TYPES:
            last = sorted(glob.glob(os.path.join(runs[gan_type][seed], "epoch_*.png")))[-1]
            with replaced_atomically(os.path.join(out_dir, f"samples_{gan_type}.png")) as tmp:
                shutil.copy(last, tmp)
            lines.append(f"![{gan_type}](samples_{gan_type}.png) ")
        lines.append("")
        lines.append("Left GAN, right SAGAN.")

    curves = {}
    gammas = {}
    for gan_type in GAN_TYPES:
        for seed_, folder in runs[gan_type].items():
            rows = read_csv(os.path.join(folder, STEP_LOG))
            steps = [int(r["step"]) for r in rows]
            for loss in ("d_loss", "g_loss"):
                curves[f"{gan_type} s{seed_} {loss}"] = (steps, [float(r[loss]) for r in rows])
            if gan_type == "SAGAN":
                for g in ("gamma_g", "gamma_d"):
                    gammas[f"seed {seed_} {g}"] = (steps, [float(r[g]) for r in rows])
    plot_curves(curves, os.path.join(out_dir, "losses.png"), "losses")
    plot_curves(gammas, os.path.join(out_dir, "gammas.png"), "SAGAN attention gamma")
    lines += ["", "## Curves", "", "![losses](losses.png)", "", "![gamma](gammas.png)", ""]
    fcds = {}
    for gan_type in GAN_TYPES:
        for seed_, folder in runs[gan_type].items():
            rows = [r for r in read_csv(os.path.join(folder, TRAIN_LOG)) if r.get("fcd")]
            if rows:
                fcds[f"{gan_type} s{seed_}"] = ([int(r["epoch"]) for r in rows], [float(r["fcd"]) for r in rows])
    if fcds:  # runs trained with --eval_every
        plot_curves(fcds, os.path.join(out_dir, "fcd.png"), "FCD of 5,000 samples at the end of each epoch",
                    xlabel="epoch")
        lines += ["![fcd](fcd.png)", ""]
    lines += ["## Cost", "", "| | trainable parameters (G / D) | median seconds per epoch |", "|---|---|---|"]
    for gan_type in GAN_TYPES:
        g_params, d_params = parameter_counts[gan_type]
        seconds = np.median([_epoch_seconds(f) for f in runs[gan_type].values()])
        lines.append(f"| {gan_type} | {g_params:,} / {d_params:,} | {seconds:.0f} |")
    lines += ["", "Seconds are wall-clock on the machine that trained each run, as logged in train_log.csv; "
              "runs that shared the machine are slower."]
    markdown = "\n".join(lines) + "\n"
    for name, text in (("report.md", markdown), ("report.html", markdown_to_html(markdown))):
        with replaced_atomically(os.path.join(out_dir, name)) as tmp:
            with open(tmp, "w") as f:
                f.write(text)
    log(f"wrote {os.path.join(out_dir, 'report.md')} and report.html")
    return markdown


def markdown_to_html(markdown):
    """The small subset of markdown the report uses, as a standalone HTML page."""
    out, in_table = ["<!doctype html><meta charset='utf-8'><title>GAN against SAGAN</title><body>"], False
    for line in markdown.splitlines():
        if line.startswith("|"):
            if set(line) <= set("|-"):
                continue
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if not in_table:
                out.append("<table border='1' cellpadding='4'>")
                in_table = True
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        image = re.match(r"!\[(.*?)\]\((.*?)\)", line)
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif image:
            out.append("".join(f"<img alt='{html.escape(a)}' src='{html.escape(s)}'>"
                               for a, s in re.findall(r"!\[(.*?)\]\((.*?)\)", line)))
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:])}</li>")
        elif line:
            out.append(f"<p>{html.escape(line)}</p>")
    return "\n".join(out + ["</body>"])
