"""The comparison report: one row per configuration and weights, verdicts derived from the spread, figures."""
import glob
import html
import os
import re
import shutil

import numpy as np

from config import MODEL_NAMES, SCALE_FIELDS, WIDTH_WEIGHTS, weights_width
from evaluation.evaluate import WEIGHT_SUFFIXES, read_result
from common.interrupts import replaced_atomically
from training.runlog import STEP_LOG, TRAIN_LOG, read_csv
from utils import plot_curves, plot_panels

GAMMA_LINES = ["-", "--", ":", "-."]  # the line style of each of SCALE_FIELDS in gammas.png

# (key, label, True when lower is better)
REPORTED = [("fcd", "FCD", True), ("fcd_multiple", "FCD / floor", True), ("kid", "KID", True),
            ("classifier_score", "classifier score", False),
            ("precision", "precision", False), ("recall", "recall", False),
            ("classes_covered", "classes covered", False), ("kl_from_uniform", "KL from uniform", True)]
# The per-epoch FCD multiple (5,000 samples, train_log.csv) averaged over a run's last epochs: what ranks
# configurations, since one epoch's FCD moves by more than configurations differ.
LATE_EPOCHS = 5
LATE_COLUMN = ("late_fcd_multiple", f"FCD / floor, last {LATE_EPOCHS} epochs", True)
# Each multiple's excess over its floor, FCD - floor: it moves less with the sample count than the multiple
# does, so the per-epoch figures (5,000 samples) and the final ones (10,000) can be set side by side. Shown
# beside the multiples, never judged apart from them (an FCD difference is the same in both).
EXCESS_COLUMN = ("fcd_excess", "FCD − floor", True)
LATE_EXCESS_COLUMN = ("late_fcd_excess", f"FCD − floor, last {LATE_EPOCHS} epochs", True)
# A conditional run's own columns (evaluation/conditional.py); runs without them show a dash.
CONDITIONAL_REPORTED = [("label_accuracy", "label accuracy", False),
                        ("intra_fcd_multiple", "intra-class FCD / floor", True),
                        ("cas", "classification accuracy score", False)]
FCD_PANELS = {"ema": "averaged G", "raw": "raw G"}  # fcd.png's panels, left to right, by weights
# A run whose last logged multiple is above this (or NaN) has diverged (a collapsed G sits near 1,000): fcd.png leaves
# it out, so that its curve does not flatten everyone else's, and says so beneath the figure.
DIVERGED_MULTIPLE = 100.0


def mean_std(values):
    """(mean, std) with std 0 for one value."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def judge(lower_is_better, first_stats, second_stats, names=MODEL_NAMES, noise=None):
    """(difference, what the spread allows, the better side's name or None) of a metric's two sides.

    first_stats and second_stats are (mean, std, number of seeds) of the two sides, called names; the difference
    is second minus first. noise, when known, is the sampling noise of the difference (one standard deviation,
    from the runs' resampling spread): a difference within twice it is "within the sampling noise", whatever
    the seeds say. Otherwise "one seed" where a side has one (no verdict), "within the spread" where the
    difference is within the larger std over seeds, and "better" beyond both.
    """
    (a_mean, a_std, a_seeds), (b_mean, b_std, b_seeds) = first_stats, second_stats
    difference = b_mean - a_mean
    if noise is not None and abs(difference) <= 2 * noise:
        return difference, "within the sampling noise", None
    if min(a_seeds, b_seeds) < 2:
        return difference, "one seed", None
    if abs(difference) <= max(a_std, b_std):
        return difference, "within the spread", None
    return difference, "better", names[1] if (difference < 0) == lower_is_better else names[0]


def verdict(label, lower_is_better, first_stats, second_stats, names=MODEL_NAMES, noise=None):
    """One sentence on a metric, derived from the means and spreads (judge); no verdict where seeds can't
    support one."""
    difference, allows, better = judge(lower_is_better, first_stats, second_stats, names, noise)
    (a_mean, a_std, _), (b_mean, b_std, _) = first_stats, second_stats
    first, second = names
    if allows == "within the sampling noise":
        return (f"{label}: the difference ({difference:+.4g}) is within the sampling noise (2 std = {2 * noise:.3g}); "
                f"the samples cannot tell them apart.")
    beyond_noise = "" if noise is None else f", beyond the sampling noise (2 std = {2 * noise:.3g})"
    spread = max(a_std, b_std)
    if allows == "one seed":
        return (f"{label}: {second} {b_mean:.4g}, {first} {a_mean:.4g} (difference {difference:+.4g}{beyond_noise}); "
                f"one seed of at least one side, so the spread over seeds is unknown and no verdict is drawn.")
    if allows == "within the spread":
        return (f"{label}: the difference ({difference:+.4g}) is within the spread over seeds (std up to "
                f"{spread:.4g}){beyond_noise}; the models cannot be told apart on it.")
    return (f"{label}: {better} is better by {abs(difference):.4g}, more than the spread over seeds ({spread:.4g})"
            f"{beyond_noise}.")


def verdict_cell(lower_is_better, first_stats, second_stats, names=MODEL_NAMES, noise=None):
    """judge() as a report table's cell: 'difference: what the spread allows'."""
    difference, allows, better = judge(lower_is_better, first_stats, second_stats, names, noise)
    if allows == "better":
        allows = f"**{better} better**"
    elif allows == "one seed" and noise is not None:
        allows += ", beyond the sampling noise"
    return f"{difference:+.3g}: {allows}"


def _late_mean(folder, value):
    """The mean of value(row) over a run's last LATE_EPOCHS logged epochs (rows where it is not None), or None."""
    values = ((int(r["epoch"]), value(r)) for r in read_csv(os.path.join(folder, TRAIN_LOG)))
    by_epoch = {epoch: v for epoch, v in values if v is not None}
    last = sorted(by_epoch)[-LATE_EPOCHS:]  # a resumed run may log an epoch twice: its latest row counts
    return float(np.mean([by_epoch[e] for e in last])) if last else None


def late_multiple(folder, suffix):
    """The mean of a run's per-epoch FCD multiples over its last LATE_EPOCHS epochs, or None."""
    column = "fcd_multiple" + suffix
    return _late_mean(folder, lambda r: float(r[column]) if r.get(column) else None)


def late_excess(folder, suffix):
    """The mean of a run's per-epoch FCD minus the floor it was logged with, over its last LATE_EPOCHS epochs."""
    column = "fcd" + suffix
    return _late_mean(folder, lambda r: float(r[column]) - float(r["fcd_floor"])
                      if r.get(column) and r.get("fcd_floor") else None)


def summarise(runs):
    """{(label, weights, metric key): (mean, std, seeds)}, {(label, weights): sampling noise of the mean FCD} and
    the floor's {key: mean}, from metrics.json."""
    summary, noise, floors = {}, {}, {}
    for label, seeds in runs.items():
        results = [read_result(folder) for folder in seeds.values()]
        for weights, suffix in WEIGHT_SUFFIXES.items():
            parts = [r["model" + suffix] for r in results if "model" + suffix in r]
            for key, _, _ in REPORTED + CONDITIONAL_REPORTED:
                values = [p[key] for p in parts if key in p]
                if values:
                    summary[(label, weights, key)] = (*mean_std(values), len(values))
            excess = [r["model" + suffix]["fcd"] - r["real_floor"]["fcd"] for r in results
                      if "fcd" in r.get("model" + suffix, {}) and "fcd" in r["real_floor"]]
            if excess:
                summary[(label, weights, EXCESS_COLUMN[0])] = (*mean_std(excess), len(excess))
            for (key, _, _), of_run in ((LATE_COLUMN, late_multiple), (LATE_EXCESS_COLUMN, late_excess)):
                late = [m for m in (of_run(folder, suffix) for folder in seeds.values()) if m is not None]
                if late:
                    summary[(label, weights, key)] = (*mean_std(late), len(late))
            spreads = [p["fcd_spread"] for p in parts if "fcd_spread" in p]
            if spreads and len(spreads) == len(parts):  # the noise of a mean of runs, each with its own
                noise[(label, weights)] = float(np.sqrt(np.sum(np.square(spreads)))) / len(spreads)
        for r in results:
            for key, _, _ in REPORTED:
                if key in r["real_floor"]:
                    floors.setdefault(key, []).append(r["real_floor"][key])
    floors = {key: float(np.mean(v)) for key, v in floors.items()}
    if "fcd" in floors:
        floors[EXCESS_COLUMN[0]] = 0.0
    return summary, noise, floors


def _noise(noise, first, second, key):
    """The sampling noise of the difference of two sides' mean FCD, or None (other metrics, older runs)."""
    if key != "fcd" or first not in noise or second not in noise:
        return None
    return float(np.hypot(noise[first], noise[second]))


def _cell(stats):
    """'mean ± std' over seeds, both to the mean's decimals (4 significant digits); the mean alone for one seed."""
    mean, std, seeds = stats
    if seeds < 2:
        return f"{mean:.4g}"
    shown = f"{mean:#.4g}".rstrip(".")  # trailing zeros kept: 1.530, not 1.53
    if "e" in shown:  # a mean too small or too large for plain decimals: both in the same exponent form
        return f"{mean:.3e} ± {std:.3e}"
    decimals = len(shown.partition(".")[2])
    return f"{shown} ± {std:.{decimals}f}"


def write_report(runs, comparisons, parameter_counts, out_dir, log=print, models=None):
    """Write report.md, report.html and their figures into out_dir; returns the markdown.

    runs: {configuration label: {seed: results folder}}; comparisons: [(why, first label, second label)];
    models: {configuration label: the model it configures}, whose configurations the ranking orders. Each
    model with attention at its best configuration is also compared with GAN at GAN's.
    """
    os.makedirs(out_dir, exist_ok=True)
    summary, noise, floors = summarise(runs)
    present = {key for _, _, key in summary}
    shown = [column for column in REPORTED[:2] + [EXCESS_COLUMN, LATE_COLUMN, LATE_EXCESS_COLUMN] + REPORTED[2:]
             + CONDITIONAL_REPORTED if column in REPORTED or column[0] in present]
    judged = [column for column in shown if column not in (EXCESS_COLUMN, LATE_EXCESS_COLUMN)]
    some = read_result(next(iter(next(iter(runs.values())).values())))
    lines = ["# " + " against ".join(runs), "",
             "Seeds: " + ", ".join(f"{label} {sorted(seeds)}" for label, seeds in runs.items()) + ". Each metric "
             f"compares {some['num_samples']} generated images with {some.get('reference_images', 'the')} reference "
             "images in the classifier's feature space; the real floor is as many other real images of the "
             "dataset G learns from, measured the same way, 'FCD / floor' each run's FCD as a multiple of it and "
             "'FCD − floor' its excess over it. ↓ marks a column where lower is better, ↑ one where higher is. "
             "'raw' is G's own weights, 'ema' their moving average (--ema_decay)." + (
                 f" '{LATE_COLUMN[1]}' is the mean of the multiples measured after each of a run's last "
                 f"{LATE_EPOCHS} epochs (train_log.csv): steadier than one final FCD, it ranks configurations. Those "
                 "are of 5,000 samples against a floor of 5,000 real images; the final ones are of "
                 f"{some['num_samples']:,} against {some['num_samples']:,}. The floor of fewer images sits higher, so "
                 "the same G reads a lower multiple at 5,000 than at the final count: compare per-epoch multiples "
                 "only with each other, and final ones with each other. The excess over the floor moves less with "
                 "the count."
                 if LATE_COLUMN in shown else ""), "",
             "| configuration | weights | " + " | ".join(f"{label} {'↓' if lower else '↑'}"
                                                        for _, label, lower in shown) + " |",
             "|---|---|" + "---|" * len(shown)]
    for label in runs:
        for weights in WEIGHT_SUFFIXES:
            if (label, weights, "fcd") in summary:
                lines.append(f"| {label} | {weights} | " + " | ".join(
                    _cell(summary[(label, weights, key)]) if (label, weights, key) in summary else "—"
                    for key, _, _ in shown) + " |")
    lines.append("| real floor | | " + " | ".join(f"{floors[key]:.4g}" if key in floors else ""
                                                 for key, _, _ in shown) + " |")
    if noise:
        lines += ["", "FCD's sampling noise (the std of each mean over resamples of its runs' samples): " + ", ".join(
            f"{label} {weights} {value:.2g}" for (label, weights), value in noise.items()) + "."]

    ranked = _ranked(summary, models or {label: label for label in runs})
    lines += _ranking(summary, ranked, some["num_samples"])
    rows = []  # (first cell, weights cell, {metric key: verdict cell})
    for why, first, second in comparisons + _best_against_best(summary, ranked, comparisons):
        for weights in WEIGHT_SUFFIXES:
            rows.append((_comparison_name(why, first, second), weights, {
                key: verdict_cell(lower, summary[(first, weights, key)], summary[(second, weights, key)],
                                   (first, second), _noise(noise, (first, weights), (second, weights), key))
                for key, _, lower in judged if (first, weights, key) in summary and (second, weights, key) in summary}))
    for label in runs:
        rows.append((_comparison_name("averaged G against raw", label, label), "ema against raw", {
            key: verdict_cell(lower, summary[(label, "raw", key)], summary[(label, "ema", key)], ("raw", "ema"),
                               _noise(noise, (label, "raw"), (label, "ema"), key))
            for key, _, lower in judged if (label, "ema", key) in summary and (label, "raw", key) in summary}))
    rows = [row for row in rows if row[2]]
    if rows:
        columns = [(key, label) for key, label, _ in judged if any(key in cells for _, _, cells in rows)]
        lines += ["", "## What the numbers say", "",
                  "Each cell is the second side's mean minus the first's, then what the spread allows: **within the "
                  "sampling noise** (FCD only: the difference is within twice the noise of the samples themselves), "
                  "**one seed** (a side has one seed, so the spread over seeds is unknown and no verdict is drawn), "
                  "**within the spread** (the difference is within the larger std over seeds), or, in bold, the "
                  "side that is better beyond both. The excesses over the floor are not judged apart: their "
                  "differences are the FCD's.", "",
                  "| comparison | weights | " + " | ".join(label for _, label in columns) + " |",
                  "|---|---|" + "---|" * len(columns)]
        lines += [f"| {name} | {weights} | " + " | ".join(cells.get(key, "—") for key, _ in columns) + " |"
                  for name, weights, cells in rows]
    lines += _widths(runs)
    lines += _figures(runs, out_dir)
    lines += ["## Cost", "", "| | trainable parameters (G / D) | median seconds per epoch | trained on |",
              "|---|---|---|---|"]
    for label, seeds in runs.items():
        g_params, d_params = parameter_counts[label]
        for machine, seconds in sorted(_epoch_seconds_by_machine(seeds.values()).items()):
            lines.append(f"| {label} | {g_params:,} / {d_params:,} | {np.median(seconds):.0f} | {machine} |")
    lines += ["", "Seconds are wall-clock, as logged in train_log.csv with the machine of each epoch: compare them "
              "only between runs of one machine, and runs that shared it with another run are slower."]
    markdown = "\n".join(lines) + "\n"
    for name, text in (("report.md", markdown), ("report.html", markdown_to_html(markdown))):
        with replaced_atomically(os.path.join(out_dir, name)) as tmp:
            with open(tmp, "w") as f:
                f.write(text)
    log(f"wrote {os.path.join(out_dir, 'report.md')} and report.html")
    return markdown


def _ranked(summary, models):
    """{model: its configurations, best first by the averaged G's mean multiple over the last epochs}, of the
    configurations whose runs logged per-epoch FCDs; models: {configuration label: the model it configures}."""
    late = LATE_COLUMN[0]
    groups = {}
    for label, model in models.items():
        if (label, "ema", late) in summary:
            groups.setdefault(model, []).append(label)
    return {model: sorted(labels, key=lambda label: summary[(label, "ema", late)][0])
            for model, labels in groups.items()}


def _most_seeded(summary, labels):
    """(the configurations of labels measured over the most seeds, the others), each in the order of labels.

    The ranking rule: a configuration measured on fewer seeds than the most-seeded one of its model is a screen.
    Its spread over seeds is unknown or less well known, so it is listed apart and not ranked."""
    seeds = {label: summary[(label, "ema", LATE_COLUMN[0])][2] for label in labels}
    most = max(seeds.values())
    return [label for label in labels if seeds[label] == most], [label for label in labels if seeds[label] < most]


def _ranking(summary, ranked, num_samples):
    """Markdown lines: the configurations (_ranked) of each model that has more than one, the most-seeded ones
    ranked and the screens on fewer seeds listed apart, unranked (_most_seeded); num_samples: of the final FCDs."""
    late, final = LATE_COLUMN[0], "fcd_multiple"
    groups = {model: labels for model, labels in ranked.items() if len(labels) > 1}
    if not groups:
        return []
    kinds = [(late, LATE_EXCESS_COLUMN[0], f"last {LATE_EPOCHS} epochs"), (final, EXCESS_COLUMN[0], "final")]
    columns = [(key, weights) for multiple, excess, _ in kinds for weights in ("ema", "raw")
               for key in (multiple, excess)]
    header = " | ".join(f"{weights}, {when}: × floor ↓ | FCD − floor ↓" for _, _, when in kinds
                        for weights in ("ema", "raw")) + " |"

    def cells(label):
        return " | ".join(_cell(summary[(label, w, key)]) if (label, w, key) in summary else "—"
                          for key, w in columns)

    rows, screens = [], []
    for model, labels in groups.items():
        most, fewer = _most_seeded(summary, labels)
        rows += [f"| {model} | {rank} | {label} | {summary[(label, 'ema', late)][2]} | {cells(label)} |"
                 for rank, label in enumerate(most, start=1)]
        screens += [f"| {model} | {label} | {summary[(label, 'ema', late)][2]} | {cells(label)} |"
                    for label in sorted(fewer)]
    lines = ["", "## Ranking", "",
             f"The rule: each model's configurations measured over its most seeds are ranked, best first by the "
             f"averaged G's {LATE_COLUMN[1]} (mean over seeds). A configuration measured on fewer seeds is a "
             "screen: its spread over seeds is not known as well, so it is listed apart, below, and not ranked, "
             "whatever its numbers. Configurations whose ranking statistics differ by less than their spread over "
             "seeds are not told apart by it: see the verdicts below. The verdict 'each at its best configuration' "
             f"takes the first ranked. Per-epoch multiples (last {LATE_EPOCHS} epochs) are of 5,000 samples against "
             f"a floor of 5,000, the final ones of {num_samples:,} against {num_samples:,}: compare each only with "
             "its own kind.", "",
             "| model | rank | configuration | seeds | " + header,
             "|---|---|---|---|" + "---|" * len(columns)] + rows
    if screens:
        lines += ["", "Screens, on fewer seeds than their model's most-seeded configurations: not ranked.", "",
                  "| model | configuration | seeds | " + header, "|---|---|---|" + "---|" * len(columns)] + screens
    return lines


def _best_against_best(summary, ranked, comparisons):
    """[(why, first, second)]: each model with attention at its best configuration against GAN at GAN's (the
    conditional against the conditional), where the given comparisons do not pair those two already. A model's
    best is the first ranked of its configurations measured over the most seeds."""
    def best(labels):
        return _most_seeded(summary, labels)[0][0]

    paired = {(first, second) for _, first, second in comparisons}
    found = []
    for model, labels in ranked.items():
        gan_type, _, rest = model.partition(" ")
        control = " ".join(["GAN", rest]).strip()
        if gan_type != "GAN" and control in ranked:
            pair = (best(ranked[control]), best(labels))
            if pair not in paired:
                found.append(("each at its best configuration", *pair))
    return found


def _comparison_name(why, first, second):
    """A verdict row's first cell: second against first, or one configuration's own weights against each other."""
    return f"{first}: {why}" if first == second else f"{second} against {first} ({why})"


def _epoch_seconds_by_machine(folders):
    """{machine: [seconds of each epoch it trained]} over the runs' logs: one machine's times are never pooled
    with another's."""
    seconds = {}
    for folder in folders:
        for row in read_csv(os.path.join(folder, TRAIN_LOG)):
            seconds.setdefault(row.get("machine") or "not recorded", []).append(float(row["seconds"]))
    return seconds or {"not recorded": [float("nan")]}


def _remove_stale(out_dir, name):
    """Remove a figure an earlier report drew and this one does not: left, it would stand for these runs."""
    path = os.path.join(out_dir, name)
    if os.path.exists(path):
        os.remove(path)


def _widths(runs):
    """The section on the averages of G by width (--ema_widths), from metrics.json: for each configuration that
    measured them, the FCD multiple of the averaged G (--ema_decay) and of each width, mean ± std over its seeds,
    and the width that reads lowest; [] when no run measured a width."""
    rows = []
    for label, seeds in runs.items():
        results = [read_result(folder) or {} for folder in seeds.values()]
        keys = sorted({key for r in results for key in r if key.startswith("model_" + WIDTH_WEIGHTS)},
                      key=lambda key: weights_width(key[len("model_"):]))
        if not keys:
            continue
        values = {key: [r[key]["fcd_multiple"] for r in results if "fcd_multiple" in r.get(key, {})]
                  for key in ["model_ema"] + keys}
        stats = {key: (*mean_std(v), len(v)) for key, v in values.items() if v}
        best = min(keys, key=lambda key: stats[key][0])
        rows.append((label, len(results), stats, keys, best))
    if not rows:
        return []
    lines = ["", "## The averaged G by width", "",
             "FCD as a multiple of the floor, mean ± std over seeds (metrics.json, --phase eval), of the averaged G "
             "(--ema_decay) and of each power-function average (--ema_widths, EDM2's sigma_rel), the lowest in bold "
             "among the widths:", ""]
    for label, count, stats, keys, best in rows:
        header = ["averaged G"] + ["σ " + key[len("model_" + WIDTH_WEIGHTS):] for key in keys]
        cells = [_cell(stats["model_ema"]) if "model_ema" in stats else "—"] + [
            ("**" + _cell(stats[key]) + "**") if key == best else _cell(stats[key]) for key in keys]
        lines += [f"**{label}** ({count} seed{'s' if count > 1 else ''})", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header), "| " + " | ".join(cells) + " |", ""]
    return lines


def _figures(runs, out_dir):
    """Last-epoch grids from identical z, loss, gamma and FCD curves; their markdown lines."""
    lines = []
    grids = {label: seeds for label, seeds in runs.items()}
    common = set.intersection(*(set(seeds) for seeds in grids.values()))
    seed = min((s for s in common if all(glob.glob(os.path.join(grids[label][s], "epoch_*.png")) for label in grids)),
               default=None)
    if seed is not None:
        lines += ["", f"## Samples from identical z (seed {seed}, last epoch)", ""]
        for label, seeds in grids.items():
            last = sorted(glob.glob(os.path.join(seeds[seed], "epoch_*.png")))[-1]
            with replaced_atomically(os.path.join(out_dir, f"samples_{label}.png")) as tmp:
                shutil.copy(last, tmp)
            lines.append(f"![{label}](samples_{label}.png) ")
        lines += ["", "In order: " + ", ".join(grids) + "."]
    # One colour per configuration; seeds are bands (losses, FCD) or thin lines (gamma, whose sign differs by seed).
    curves, gammas, fcds, styles, diverged = {}, {}, {}, {}, []
    for i, (label, seeds) in enumerate(runs.items()):
        colour = f"C{i % 10}"
        for seed_, folder in seeds.items():
            # A published run (docs/runs/) keeps train_log.csv only: its curves are per epoch.
            rows = read_csv(os.path.join(folder, STEP_LOG)) or read_csv(os.path.join(folder, TRAIN_LOG))
            steps = [int(r["step"]) for r in rows]
            for loss, line in (("d_loss", "-"), ("g_loss", "--")):
                _add(curves, styles, f"{label} {loss}", (steps, [float(r[loss]) for r in rows]), colour, line)
            for g, line in zip(SCALE_FIELDS, GAMMA_LINES):
                if rows and rows[0].get(g):
                    _add(gammas, styles, f"{label} {g}", (steps, [float(r[g]) for r in rows]), colour, line)
            for weights, suffix in WEIGHT_SUFFIXES.items():
                column = "fcd_multiple" + suffix  # runs logged before the honest yardstick have only the FCD
                epochs = [r for r in read_csv(os.path.join(folder, TRAIN_LOG)) if r.get(column)]
                last = float(epochs[-1][column]) if epochs else None
                if last is not None and not last <= DIVERGED_MULTIPLE:  # NaN too
                    diverged.append(f"{label} seed {seed_} ({FCD_PANELS[weights]}, {last:,.0f})")
                elif epochs:
                    _add(fcds.setdefault(FCD_PANELS[weights], {}), styles, label,
                         ([int(r["epoch"]) for r in epochs], [float(r[column]) for r in epochs]), colour, "-")
    plot_curves(curves, os.path.join(out_dir, "losses.png"), "losses (mean over seeds, band: their range)",
                styles=styles, band=True)
    lines += ["", "## Curves", "", "![losses](losses.png)", ""]
    if gammas:
        plot_curves(gammas, os.path.join(out_dir, "gammas.png"),
                    "attention scale (gamma, or the paper's sigma), one line per seed", styles=styles)
        lines += ["![gamma](gammas.png)", ""] + _gamma_table(runs)
    else:
        _remove_stale(out_dir, "gammas.png")
    if fcds:  # runs trained with --eval_every
        plot_panels({panel: fcds[panel] for panel in FCD_PANELS.values() if panel in fcds},
                    os.path.join(out_dir, "fcd.png"),
                    "FCD of 5,000 samples after each epoch, as a multiple of the floor of 5,000 real images "
                    "(mean over seeds, band: their range)",
                    xlabel="epoch", log_y=True, styles=styles, band=True,  # the first epoch's is ten times the last's
                    reference=(1.0, "the floor"))
        lines += ["![fcd](fcd.png)", ""]
    else:
        _remove_stale(out_dir, "fcd.png")
    if diverged:
        where = "Not drawn in fcd.png" if fcds else "No FCD figure: every run diverged"
        lines += [f"{where}, above {DIVERGED_MULTIPLE:g} times the floor (or not a number) at their last epoch: "
                  + ", ".join(diverged) + ". Their numbers are in the tables above.", ""]
    return lines


def _gamma_table(runs):
    """Markdown lines: every attention run's scales (gamma) at its last logged epoch, one row per seed."""
    rows = []
    for label, seeds in runs.items():
        for seed, folder in sorted(seeds.items()):
            log = read_csv(os.path.join(folder, TRAIN_LOG))
            if log and any(log[-1].get(g) for g in SCALE_FIELDS):  # --attention_at 14 logs no gamma_g
                rows.append((label, seed, log[-1]))
    if not rows:
        return []
    fields = [g for g in SCALE_FIELDS if any(last.get(g) for _, _, last in rows)]
    lines = ["Attention's scale at the end of each run (train_log.csv, last epoch):", "",
             "| configuration | seed | epoch | " + " | ".join(fields) + " |", "|---|---|---|" + "---|" * len(fields)]
    lines += [f"| {label} | {seed} | {last['epoch']} | " + " | ".join(
        f"{float(last[g]):+.4f}" if last.get(g) else "—" for g in fields) + " |" for label, seed, last in rows]
    return lines + [""]


def _add(columns, styles, name, series, colour, linestyle):
    """Append one seed's (x, y) to columns[name], drawn in colour and linestyle."""
    columns.setdefault(name, []).append(series)
    styles[name] = {"color": colour, "linestyle": linestyle}


def markdown_to_html(markdown):
    """The small subset of markdown the report uses, as a standalone HTML page."""
    out, in_table = ["<!doctype html><meta charset='utf-8'><title>Comparison of runs</title><body>"], False
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
