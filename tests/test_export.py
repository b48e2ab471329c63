"""--phase export: G as a SavedModel that plain TensorFlow loads, the images --phase sample gives, no D."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT
from utils import load_samples

SAFETY_SECONDS = 600  # against hanging only
NUM = 20
# Loads each export with TensorFlow alone and writes its images for the z (and labels) given.
LOADER = """
import json, sys
import numpy as np
import tensorflow as tf
for job in json.loads(sys.argv[1]):
    signature = tf.saved_model.load(job["export"]).signatures["serving_default"]
    inputs = {"z": tf.constant(np.load(job["z"]))}
    if job["labels"]:
        inputs["labels"] = tf.constant(np.load(job["labels"]))
    np.save(job["out"], signature(**inputs)["images"].numpy())
"""


@pytest.mark.e2e
@pytest.mark.subprocess
def test_an_export_loads_without_the_project_and_draws_what_sample_draws(workdir, run_main, tiny_run):
    from config import ModelConfig
    from training import streams
    exports = [("SAGAN", ("--conditional",), "ema"), ("GAN", (), "raw")]  # with and without labels, both weights
    jobs = []
    for gan_type, flags, weights in exports:
        tiny_run(gan_type, 2, *flags)
        model_dir = f"{gan_type}_mnist_8_62" + ("_cond" if flags else "")
        results = workdir / "results" / model_dir
        export_flags = () if weights == "ema" else ("--weights", "raw")  # ema is export's default
        assert run_main("--gan_type", gan_type, *flags, "--phase", "export", *export_flags) == 0
        assert run_main("--gan_type", gan_type, *flags, "--phase", "sample", "--num_samples", NUM,
                        "--weights", weights) == 0
        folder = results / "export" / weights
        # Only G's weights: no D, no optimiser slots, no second copy of G.
        names = [name for name, _ in tf.train.list_variables(str(folder / "variables" / "variables"))]
        assert names and all(name.startswith("generator/") and "Adam" not in name for name in names), names
        card = (folder / "MODEL_CARD.md").read_text()
        assert "twistedwg.com" in card and "step 2" in card and "Not measured" in card and "--phase eval" in card
        assert json.loads(card.split("```json")[1].split("```")[0])["gan_type"] == gan_type
        config = ModelConfig(gan_type, batch_size=8, conditional=bool(flags))
        np.save(workdir / f"{model_dir}_z.npy", streams.sample_z(config, NUM))
        labels = streams.sample_labels(config, NUM)
        if labels is not None:
            np.save(workdir / f"{model_dir}_labels.npy", labels)
        jobs.append({"export": str(folder), "z": str(workdir / f"{model_dir}_z.npy"),
                     "labels": str(workdir / f"{model_dir}_labels.npy") if labels is not None else None,
                     "out": str(workdir / f"{model_dir}_export.npy"),
                     "sampled": str(results / ("samples.npz" if weights == "raw" else "samples_ema.npz"))})
    outside = workdir / "elsewhere"  # neither the repository nor its modules on the path
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", LOADER, json.dumps(jobs)], cwd=outside, env=env,
                          capture_output=True, text=True, timeout=SAFETY_SECONDS)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not str(outside).startswith(ROOT)
    for job in jobs:
        exported, (sampled, _) = np.load(job["out"]), load_samples(job["sampled"])
        assert exported.dtype == np.uint8 and exported.shape == sampled.shape == (NUM, 28, 28, 1)
        moved = np.abs(exported.astype(int) - sampled.astype(int))
        assert moved.max() <= 1 and (moved > 0).mean() <= 0.001, job  # float rounding, at most


def test_export_without_a_checkpoint_or_over_an_export_is_one_line_and_changes_nothing(workdir, run_main,
                                                                                        tiny_run, capsys):
    assert run_main("--gan_type", "GAN", "--phase", "export") == 2
    err = capsys.readouterr().err
    assert "no checkpoint" in err and len(err.strip().splitlines()) == 1
    tiny_run("GAN")
    capsys.readouterr()
    folder = workdir / "results" / "GAN_mnist_8_62" / "export" / "ema"
    folder.mkdir(parents=True)
    (folder / "saved_model.pb").write_text("an earlier export")
    assert run_main("--gan_type", "GAN", "--phase", "export") == 2
    err = capsys.readouterr().err
    assert "exists" in err and "delete or move it" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(folder) == ["saved_model.pb"] and (folder / "saved_model.pb").read_text() == "an earlier export"


def test_a_stop_during_export_leaves_no_folder(workdir, run_main, tiny_run, monkeypatch, capsys):
    from export import saved_model
    tiny_run("GAN")

    def stopped(*args):
        raise KeyboardInterrupt  # as Ctrl-C lands, once the SavedModel is half written
    monkeypatch.setattr(saved_model, "write_model_card", stopped)
    assert run_main("--gan_type", "GAN", "--phase", "export") == 130
    assert "while exporting GAN_mnist_8_62: no export folder was written" in capsys.readouterr().out
    export = workdir / "results" / "GAN_mnist_8_62" / "export"
    assert os.listdir(export) == []  # neither the folder nor a partial one
