"""A run's own files beside its images: config.json (what the run is), train_log.csv (one row per epoch) and
steps.csv (every --log_every steps)."""
import csv
import dataclasses
import json
import os

from common.interrupts import replaced_atomically
from config import SCALE_FIELDS

CONFIG_FILE = "config.json"
TRAIN_LOG = "train_log.csv"
STEP_LOG = "steps.csv"
TRAIN_LOG_FIELDS = ["step", "epoch", "d_loss", "g_loss", "gamma_g", "gamma_d", "seconds", "fcd", "classifier_score",
                    "fcd_ema", "classifier_score_ema", "gamma_g14", "gamma_d14", "fcd_floor", "fcd_multiple",
                    "fcd_multiple_ema", "machine"]  # new columns last: old logs read on
STEP_LOG_FIELDS = ["step", "d_loss", "g_loss"] + SCALE_FIELDS  # the attention blocks' scales
FIELDS = {TRAIN_LOG: TRAIN_LOG_FIELDS, STEP_LOG: STEP_LOG_FIELDS}


def read_csv(path):
    """Rows of a CSV file as dicts; [] when it does not exist."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_csv(path, fields, row):
    """Append one row, writing the header first when the file is new."""
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fields)
        if new:
            writer.writeheader()
        writer.writerow(row)


def truncate_csv(path, fields, step):
    """Drop rows written after step (by a run that died before its next checkpoint); bring the header up to fields."""
    rows = read_csv(path)
    kept = [r for r in rows if int(r["step"]) <= step]
    header = fields
    if os.path.exists(path):
        with open(path, newline="") as f:
            header = next(csv.reader(f), fields)
    if len(kept) != len(rows) or header != fields:
        tmp = path + ".tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fields, restval="")
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, path)


class RunLog:
    """The CSV logs of one results folder."""

    def __init__(self, result_dir):
        self.paths = {name: os.path.join(result_dir, name) for name in FIELDS}

    def rewind(self, step):
        """Forget rows past step: a resumed run redoes them."""
        for name, path in self.paths.items():
            truncate_csv(path, FIELDS[name], step)

    def add_step(self, row):
        """One row of steps.csv."""
        append_csv(self.paths[STEP_LOG], STEP_LOG_FIELDS, row)

    def add_epoch(self, row):
        """One row of train_log.csv."""
        append_csv(self.paths[TRAIN_LOG], TRAIN_LOG_FIELDS, row)

    def steps(self):
        """Rows of steps.csv."""
        return read_csv(self.paths[STEP_LOG])

    def epochs(self):
        """Rows of train_log.csv."""
        return read_csv(self.paths[TRAIN_LOG])


def write_run_config(result_dir, model_config, train_config):
    """config.json: the run's whole configuration as the program resolved it, rewritten by each training command
    (a resumed run may train to another --epoch)."""
    path = os.path.join(result_dir, CONFIG_FILE)
    with replaced_atomically(path) as tmp:
        with open(tmp, "w") as f:
            json.dump({"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(train_config)}, f,
                      indent=2)


def read_run_config(result_dir):
    """The model fields of a run's config.json, or None where there is none (runs from before it) or it cannot be
    read."""
    try:
        with open(os.path.join(result_dir, CONFIG_FILE)) as f:
            return json.load(f)["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
