"""The screen of GAN's training settings (Lucic et al. 2018, "Are GANs Created Equal?"): learning rates, Adam's betas
and D steps per G step, each configuration trained, measured at every averaged G's width, and published.

    python scripts/screen.py list                  # the design: each configuration's flags and model_dir
    python scripts/screen.py run --root RUNS       # train and measure what is not done yet; resumable, any time
    python scripts/screen.py publish --root RUNS   # each finished run's config.json, train_log.csv, metrics.json

The design is a Latin hypercube of DRAWS points over the five axes (scipy.stats.qmc, seeded, so it is the same
on every machine), rounded to two significant digits, plus the article's settings. Each run trains GAN for EPOCHS
epochs with --eval_every 0 and keeps the power-function averages of WIDTHS beside the averaged G; its last
checkpoint is measured by --phase eval on 10,000 samples of each. RUNS holds its checkpoint/, results/, logs/
and data/; it can be any folder outside the repository.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from config import ModelConfig, model_dir  # noqa: E402

EPOCHS = 10
WIDTHS = (0.05, 0.1, 0.15, 0.2, 0.25)
DRAWS, DESIGN_SEED = 10, 45
# (flag, low, high, scale) of each axis; a draw u in [0, 1) maps to low..high, geometrically for "log"
AXES = (("lr_d", 5e-5, 1e-3, "log"), ("lr_g", 5e-5, 2e-3, "log"), ("beta1", 0.0, 0.9, "linear"),
        ("beta2", 0.9, 0.999, "linear"), ("d_steps", 1, 3, "integer"))
PUBLISHED = os.path.join(ROOT, "docs", "screen")
ARTICLE = dict(lr_d=2e-4, lr_g=1e-3, beta1=0.5, beta2=0.999, d_steps=1)


def _round(value):
    return float(f"{value:.2g}")


def design():
    """[{flag: value}] of the screen's configurations: the article's, then the hypercube's points."""
    from scipy.stats import qmc
    points = qmc.LatinHypercube(d=len(AXES), seed=DESIGN_SEED).random(DRAWS)
    configurations = [dict(ARTICLE)]
    for point in points:
        values = {}
        for u, (flag, low, high, scale) in zip(point, AXES):
            if scale == "log":
                values[flag] = _round(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
            elif scale == "integer":
                values[flag] = int(low + math.floor(u * (high - low + 1)))
            else:
                values[flag] = _round(low + u * (high - low))
        configurations.append(values)
    return configurations


def name_of(values):
    """The run's model_dir."""
    return model_dir(ModelConfig("GAN", **values))


def flags_of(values):
    return [f"--{flag}={value}" for flag, value in values.items()]


def folders(root):
    return [f"--{kind}_dir={os.path.join(root, folder)}" for kind, folder in
            (("checkpoint", "checkpoint"), ("result", "results"), ("log", "logs"), ("data", "data"))]


def finished(root, name):
    """Whether the run's metrics.json measures its last epoch's checkpoint."""
    import json
    path = os.path.join(root, "results", name, "metrics.json")
    rows = os.path.join(root, "results", name, "train_log.csv")
    if not (os.path.exists(path) and os.path.exists(rows)):
        return False
    with open(path) as f, open(rows) as log:
        last = log.read().strip().splitlines()[-1].split(",")
        return json.load(f).get("step") == int(last[0]) and int(last[1]) == EPOCHS


def run(root):
    """Train, then measure, each configuration not yet finished, in the design's order."""
    main = [sys.executable, os.path.join(ROOT, "main.py"), "--gan_type=GAN"]
    for values in design():
        name = name_of(values)
        if finished(root, name):
            continue
        common = flags_of(values) + folders(root) + [f"--ema_widths={','.join(map(str, WIDTHS))}"]
        print(f"screen: {name}", flush=True)
        subprocess.run(main + common + [f"--epoch={EPOCHS}", "--eval_every=0"], check=True)
        subprocess.run(main + common + ["--phase=eval"], check=True)


def publish(root):
    """Copy each finished run's small files to docs/screen/<model_dir>/."""
    for values in design():
        name = name_of(values)
        if not finished(root, name):
            continue
        out = os.path.join(PUBLISHED, name)
        os.makedirs(out, exist_ok=True)
        for file in ("config.json", "train_log.csv", "metrics.json"):
            shutil.copy(os.path.join(root, "results", name, file), out)
        print(f"published {name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("list", "run", "publish"))
    parser.add_argument("--root", help="the folder of the runs (run, publish)")
    args = parser.parse_args(argv)
    if args.action == "list":
        for values in design():
            print(f"{name_of(values):<60} {' '.join(flags_of(values))}")
        return 0
    if not args.root:
        parser.error(f"{args.action} needs --root")
    (run if args.action == "run" else publish)(os.path.abspath(args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
