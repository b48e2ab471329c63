"""The user paths on a tiny synthetic dataset: train, resume, interrupt, sample, and their errors."""
import hashlib
import json
import os
import re
import shutil

import imageio.v2 as imageio
import numpy as np
import pytest
import tensorflow as tf

from config import ModelConfig
from training import streams
from training.runlog import read_csv
from utils import load_samples, save_samples

STEPS_PER_EPOCH = 6  # 48 tiny images in batches of 8


def checkpoint_step(model_dir):
    state = tf.train.get_checkpoint_state(os.path.join("checkpoint", model_dir))
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]), state.model_checkpoint_path


def checkpoint_weights(model_dir):
    _, path = checkpoint_step(model_dir)
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def folder_digest(folder):
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def assert_trained_run(workdir, model_dir, gan_type):
    """The files a run of two tiny epochs leaves: checkpoint, per-epoch rows, grids, GIF, plot, TensorBoard."""
    assert checkpoint_step(model_dir)[0] == 2 * STEPS_PER_EPOCH
    results = workdir / "results" / model_dir
    rows = read_csv(str(results / "train_log.csv"))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert [int(r["step"]) for r in rows] == [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]
    assert all(np.isfinite(float(r["d_loss"])) for r in rows)
    assert (rows[0]["gamma_g"] != "") == (gan_type == "SAGAN")
    assert all(r["machine"].endswith(f", {os.cpu_count()} cores") for r in rows)  # beside each epoch's seconds
    for name in ("epoch_001.png", "epoch_002.png", "epochs.gif", "losses.png"):
        assert (results / name).stat().st_size > 0
    assert any((workdir / "logs" / model_dir).iterdir())  # TensorBoard events


@pytest.mark.e2e
def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(workdir, run_main, monkeypatch, op_determinism,
                                                                   capsys):
    # What depends on the step must pick up where it stopped: the average's warm-up, the learning rates'
    # decay, and the labels a conditional G draws.
    flags = ("--ema_decay", "0.9999", "--ema_warmup", "--lr_decay_start", "0.25", "--conditional")
    name = "SAGAN_mnist_8_62_ema0.9999_emawarmup_lrdecay0.25_cond"
    assert run_main("--gan_type", "SAGAN", *flags, "--checkpoint_dir", "whole") == 0
    whole_ckpt = tf.train.latest_checkpoint(f"whole/{name}")
    # Stop inside epoch 1, then at the end of epoch 1, then finish.
    capsys.readouterr()
    assert run_main("--gan_type", "SAGAN", *flags, "--stop_after_steps", 4) == 0
    assert "trainable parameters: generator 7,103,714, discriminator 6,897,570" in capsys.readouterr().out
    assert checkpoint_step(name)[0] == 4
    seen_steps = []
    original = streams.batch_z
    monkeypatch.setattr(streams, "batch_z", lambda config, step: seen_steps.append(step) or original(config, step))
    assert run_main("--gan_type", "SAGAN", *flags, "--stop_after_steps", 2) == 0
    assert seen_steps == [4, 5]  # exactly the next steps, none skipped or repeated
    assert run_main("--gan_type", "SAGAN", *flags) == 0
    assert seen_steps == list(range(4, 12))
    step, _ = checkpoint_step(name)
    assert step == 2 * STEPS_PER_EPOCH and whole_ckpt.endswith(f"-{step}")
    assert_trained_run(workdir, name, "SAGAN")
    resumed = checkpoint_weights(name)
    reader = tf.train.load_checkpoint(whole_ckpt)
    assert set(resumed) == set(reader.get_variable_to_shape_map())
    for variable, value in resumed.items():  # Adam slots and G's bn statistics included
        if variable.startswith("discriminator/") and "/moving_" in variable:
            # D runs twice per D step (real, fake), and as with tf.contrib's in-place updates the two
            # updates of its moving averages race; they are never used in training.
            continue
        np.testing.assert_allclose(value, reader.get_tensor(variable), rtol=1e-4, atol=1e-6, err_msg=variable)


@pytest.mark.e2e
@pytest.mark.parametrize("gan_type", ["GAN", "SAGAN"])
def test_sample_writes_uint8_images(workdir, run_main, tiny_run, gan_type):
    tiny_run(gan_type)
    assert run_main("--gan_type", gan_type, "--phase", "sample", "--num_samples", 10) == 0
    samples, about = load_samples(workdir / "results" / f"{gan_type}_mnist_8_62" / "samples.npz")
    assert samples.shape == (10, 28, 28, 1) and samples.dtype == np.uint8
    assert about == {"model_dir": f"{gan_type}_mnist_8_62", "step": 2, "weights": "raw", "seed": 0}
    assert samples.max() > samples.min()
    assert (workdir / "results" / f"{gan_type}_mnist_8_62" / "samples.png").exists()


def test_sample_without_checkpoint_is_a_clear_error(workdir, run_main, capsys):
    assert run_main("--gan_type", "GAN", "--phase", "sample") == 2
    err = capsys.readouterr().err
    assert "no checkpoint" in err and "--phase train" in err


@pytest.mark.trains
def test_seed_changes_model_dir_and_same_seed_gives_same_start(workdir, run_main, tiny_run):
    assert run_main("--gan_type", "GAN", "--stop_after_steps", 1, "--seed", 3) == 0
    assert run_main("--gan_type", "GAN", "--stop_after_steps", 1, "--seed", 3, "--checkpoint_dir", "again") == 0
    tiny_run("GAN", 1)  # seed 0
    first = checkpoint_weights("GAN_mnist_8_62_seed3")
    os.rename("checkpoint", "first")
    os.rename("again", "checkpoint")
    second = checkpoint_weights("GAN_mnist_8_62_seed3")
    os.rename("checkpoint", "again")
    os.rename("first", "checkpoint")
    other_seed = checkpoint_weights("GAN_mnist_8_62")
    name = "generator/g_fc1/Matrix"
    np.testing.assert_allclose(first[name], second[name], rtol=1e-5)
    assert np.abs(first[name] - other_seed[name]).max() > 1e-3


def test_checkpoint_of_another_model_is_refused_and_left_untouched(workdir, run_main, tiny_run, capsys):
    tiny_run("GAN", 1)
    shutil.copytree("checkpoint/GAN_mnist_8_62", "checkpoint/SAGAN_mnist_8_62")
    before = folder_digest("checkpoint")
    assert run_main("--gan_type", "SAGAN") == 2
    assert run_main("--gan_type", "SAGAN", "--phase", "sample") == 2
    err = capsys.readouterr().err
    assert "written by another model" in err and "attention" in err
    assert folder_digest("checkpoint") == before
    shutil.copytree("checkpoint/GAN_mnist_8_62", "checkpoint/GAN_mnist_8_10")
    before = folder_digest("checkpoint")
    assert run_main("--gan_type", "GAN", "--z_dim", 10, "--phase", "sample") == 2
    assert run_main("--gan_type", "GAN", "--z_dim", 10) == 2
    assert "generator/g_fc1/Matrix has shape [62, 1024], expected [10, 1024]" in capsys.readouterr().err
    assert folder_digest("checkpoint") == before


def test_batch_larger_than_the_data_is_refused(workdir, run_main, capsys):
    assert run_main("--gan_type", "GAN", batch_size=64) == 2
    assert "larger than the dataset" in capsys.readouterr().err
    assert not os.path.exists("checkpoint/GAN_mnist_64_62")


@pytest.mark.e2e
def test_eval_writes_metrics_beside_the_real_floor(workdir, run_main, tiny_run, monkeypatch, capsys):
    import json
    tiny_run("SAGAN")
    capsys.readouterr()
    assert run_main("--gan_type", "SAGAN", "--phase", "eval", "--num_eval_samples", 100) == 0
    out = capsys.readouterr().out
    assert "training the mnist classifier" in out and "FCD" in out
    result = json.loads((workdir / "results" / "SAGAN_mnist_8_62" / "metrics.json").read_text())
    for part in ("model", "real_floor"):
        assert set(result[part]) >= {"fcd", "kid", "classifier_score", "precision", "recall", "classes_covered"}
        assert np.isfinite(result[part]["fcd"])
    assert result["model"]["fcd"] > result["real_floor"]["fcd"]  # random noise vs real digits
    assert os.path.isdir(workdir / "checkpoint" / "classifier_mnist")
    assert run_main("--gan_type", "SAGAN", "--phase", "eval", "--num_eval_samples", 100) == 0
    assert "training the mnist classifier" not in capsys.readouterr().out  # trained once

    # Samples files of the same z, measured without the checkpoint, give metrics.json's numbers.
    results = workdir / "results" / "SAGAN_mnist_8_62"
    for weights in ("raw", "ema"):
        assert run_main("--gan_type", "SAGAN", "--phase", "sample", "--num_samples", 100, "--weights", weights) == 0
    before = folder_digest(str(workdir / "results"))
    capsys.readouterr()
    grid = workdir / "same_z.png"
    assert run_main("--phase", "eval", "--samples", results / "samples.npz", results / "samples_ema.npz",
                    "--grid", grid) == 0
    out = capsys.readouterr().out
    assert folder_digest(str(workdir / "results")) == before  # it writes nothing but the grid asked for
    assert imageio.imread(grid).ndim == 3 and f"into {grid}" in out
    tables = out.split("samples_ema.npz (")
    for table, part in zip(tables, ("model", "model_ema")):
        fcd_row = next(line for line in table.splitlines() if line.startswith("FCD"))
        assert fcd_row.split()[-2:] == [f"{result[part]['fcd']:.3f}", f"{result['real_floor']['fcd']:.3f}"], out
    assert "step 2)" in out and ("averaged G" in tables[1]) and ("averaged G" not in tables[0])


def test_bad_samples_files_are_one_line_errors(workdir, run_main, capsys):
    np.savez_compressed(workdir / "floats.npz", images=np.zeros((4, 28, 28), np.float32))
    np.savez_compressed(workdir / "other.npz", pictures=np.zeros((4, 28, 28), np.uint8))
    np.save(workdir / "array.npy", np.zeros((4, 28, 28), np.uint8))
    (workdir / "text.npz").write_text("not an archive")
    (workdir / "cut.npz").write_bytes((workdir / "other.npz").read_bytes()[:100])
    for path, says in (("missing.npz", "no such file"), ("floats.npz", "float32"), ("other.npz", "no 'images'"),
                       ("array.npy", "not an .npz"), ("text.npz", "not an .npz"), ("cut.npz", "damaged")):
        assert run_main("--phase", "eval", "--samples", workdir / path) == 2
        err = capsys.readouterr().err
        assert says in err and "--phase sample" in err and len(err.strip().splitlines()) == 1, err
    for seed in (0, 1):
        save_samples(np.zeros((4, 28, 28, 1), np.uint8), workdir / f"seed{seed}.npz", seed=seed)
    (workdir / "taken.png").write_bytes(b"a previous grid")
    for files, grid, says in (((0, 1), "new.png", "not drawn from the same z"), ((0, 0), "taken.png", "exists"),
                              ((0,), "no/such/folder/new.png", "its folder does not exist")):
        assert run_main("--phase", "eval", "--samples", *[workdir / f"seed{s}.npz" for s in files],
                        "--grid", workdir / grid) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
    assert (workdir / "taken.png").read_bytes() == b"a previous grid" and not (workdir / "new.png").exists()
    assert not (workdir / "checkpoint").exists()  # refused before the classifier trained
    with pytest.raises(SystemExit) as stop:  # argparse's own exit
        run_main("--phase", "sample", "--samples", workdir / "other.npz")
    assert stop.value.code == 2 and "--samples goes with --phase eval" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        run_main("--gan_type", "GAN", "--phase", "eval", "--grid", workdir / "new.png")
    assert stop.value.code == 2 and "--grid draws samples files" in capsys.readouterr().err


@pytest.mark.e2e
def test_attention_phase_draws_both_blocks(workdir, run_main, tiny_run, capsys):
    tiny_run("SAGAN")
    assert run_main("--gan_type", "SAGAN", "--phase", "attention", "--queries", "0,0;3,3;6,6") == 0
    out = capsys.readouterr().out
    for net in ("generator", "discriminator"):
        assert re.search(rf"{net} attention: gamma -?0\.0\d+, gamma\*o is \d+\.\d% of its input's norm", out)
        assert (workdir / "results" / "SAGAN_mnist_8_62" / f"attention_{net}.png").stat().st_size > 0
    assert "barely changes its input" in out  # gamma, so gamma*o, is still near 0 after two steps
    assert run_main("--gan_type", "GAN", "--phase", "attention") == 2
    assert "no attention blocks" in capsys.readouterr().err


@pytest.mark.e2e
def test_compare_reports_both_models_without_a_premature_verdict(workdir, run_main, monkeypatch, capsys):
    from evaluation import classifier
    from evaluation import report as report_module
    from evaluation.compare import fields_in
    for gan_type in ("GAN", "SAGAN"):
        for seed in (0, 1):
            assert run_main("--gan_type", gan_type, "--seed", seed, epoch=1, eval_every=1) == 0
    # show_all_variables, as the framework prints it before training
    assert "trainable parameters: generator 6,640,193, discriminator 6,559,169" in capsys.readouterr().out
    (workdir / "results" / "GAN_mnist_8_62_seed4").mkdir()  # a results folder without a checkpoint
    (workdir / "results" / "GAN_mnist_64_62").mkdir()  # another batch size
    (workdir / "results" / "my notes").mkdir()
    # A run says what it is in config.json, and compare reads it there; a run from before config.json (here,
    # SAGAN's, removed) is still found by its folder's name.
    saved = json.loads((workdir / "results" / "GAN_mnist_8_62" / "config.json").read_text())
    assert saved["model"]["gan_type"] == "GAN" and saved["train"]["epoch"] == 1
    sagan_config = workdir / "results" / "SAGAN_mnist_8_62" / "config.json"
    kept = sagan_config.read_text()
    sagan_config.unlink()
    assert fields_in("results")("SAGAN_mnist_8_62")["gan_type"] == "SAGAN"
    (workdir / "results" / "GAN_mnist_8_62" / "config.json").write_text(json.dumps(
        {**saved, "model": {**saved["model"], "gan_type": "SAGAN"}}))  # config.json, not the name, says what it is
    assert fields_in("results")("GAN_mnist_8_62")["gan_type"] == "SAGAN"
    (workdir / "results" / "GAN_mnist_8_62" / "config.json").write_text(json.dumps(saved))
    capsys.readouterr()
    assert run_main("--phase", "compare") == 2  # nothing measured yet, and compare alone measures nothing
    assert "add --measure" in capsys.readouterr().err
    assert run_main("--phase", "compare", "--measure", "--num_eval_samples", 100) == 0
    out = capsys.readouterr().out
    assert "compare: skipping GAN_mnist_8_62_seed4: no metrics.json of both weights and no checkpoint in " \
           "checkpoint/GAN_mnist_8_62_seed4" in out
    assert "compare: skipping GAN_mnist_64_62: another batch_size 64 than asked" in out
    assert "compare: skipping my notes: its name is not a model_dir" in out
    sagan_config.write_text(kept)  # found without it (Seeds, below); publishing needs it
    report = (workdir / "results" / "compare_mnist" / "report.md").read_text()
    assert "| FCD ↓ | FCD / floor ↓ |" in report and " ± " in report and "sampling noise" in report
    assert "Seeds: GAN [0, 1], SAGAN [0, 1]" in report
    assert "6,968,354 / 6,887,330" in report  # SAGAN's parameters
    # Either verdict is derived from the numbers: the comparison's row has one cell per metric.
    row = next(line for line in report.splitlines() if line.startswith("| SAGAN against GAN (attention"))
    assert row.count(": ") == len(report_module.REPORTED) + 1  # + the last epochs' multiple (--eval_every)
    for name in ("report.html", "losses.png", "gammas.png", "samples_GAN.png", "samples_SAGAN.png"):
        assert (workdir / "results" / "compare_mnist" / name).stat().st_size > 0
    # The per-epoch FCD figure, unless every tiny run's multiple went past the divergence mark (test_report draws it).
    assert (workdir / "results" / "compare_mnist" / "fcd.png").exists() or "every run diverged" in report
    for seed_dir in ("GAN_mnist_8_62", "SAGAN_mnist_8_62_seed1"):
        assert (workdir / "results" / seed_dir / "metrics.json").exists()
    assert "| FCD / floor, last 5 epochs ↓ |" in report
    assert re.search(r"\| SAGAN \| 1 \| 1 \| [+-]0\.\d{4} \| [+-]0\.\d{4} \|", report)  # gamma of each seed
    # A metrics.json older than the newest checkpoint is measured again with --measure, and only then; the others
    # are read as they are.
    assert run_main("--gan_type", "GAN", "--stop_after_steps", 1, epoch=2) == 0
    capsys.readouterr()
    assert run_main("--phase", "compare") == 0
    out = capsys.readouterr().out
    assert "compare: GAN_mnist_8_62: reporting its metrics.json (step 6) as it is; the checkpoint in " \
           "checkpoint/GAN_mnist_8_62 (step 7) is not measured" in out and "metrics.json\n" not in out
    assert run_main("--phase", "compare", "--measure", "--num_eval_samples", 100) == 0
    out = capsys.readouterr().out
    assert "results/GAN_mnist_8_62/metrics.json" in out and "results/SAGAN_mnist_8_62/metrics.json" not in out
    report = (workdir / "results" / "compare_mnist" / "report.md").read_text()
    # The runs' published evidence alone (no checkpoint, no data, no classifier) gives the same table.
    import subprocess
    from conftest import ROOT
    published = workdir / "published"
    folders = [str(workdir / "results" / name) for name in sorted(os.listdir(workdir / "results"))
               if (workdir / "results" / name / "metrics.json").exists()]
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "publish_run.sh"), "--to", str(published), *folders],
                   check=True, capture_output=True)
    assert sorted(os.listdir(published / "SAGAN_mnist_8_62_seed1")) == ["config.json", "metrics.json",
                                                                        "train_log.csv"]
    monkeypatch.setattr(classifier, "trained_classifier", None)  # calling it would fail
    assert run_main("--phase", "compare", "--result_dir", "published", "--checkpoint_dir", "nothing",
                    "--data_dir", "nothing", "--report_dir", "published_report") == 0
    again = (workdir / "published_report" / "report.md").read_text()
    table = [line for line in report.splitlines() if line.startswith("| GAN |") or line.startswith("| SAGAN |")]
    assert table and all(line in again.splitlines() for line in table)


@pytest.mark.e2e
def test_reporting_on_a_published_folder_writes_nothing_into_it_and_trains_nothing(workdir, run_main, monkeypatch,
                                                                                    capsys):
    from conftest import ROOT
    from evaluation import classifier, compare, evaluate
    from training import loop
    published = workdir / "published"
    shutil.copytree(os.path.join(ROOT, "docs", "runs"), published)
    before = folder_digest(published)
    # checkpoint/ holds a run of a published name at another step, and a seed that is not published
    for name, step in (("GAN_mnist_64_62", 20), ("GAN_mnist_64_62_seed3", 500)):
        (workdir / "checkpoint" / name).mkdir(parents=True)
        (workdir / "checkpoint" / name / "checkpoint").write_text(f'model_checkpoint_path: "GAN.model-{step}"\n')
    for module, name in ((classifier, "trained_classifier"), (compare, "evaluate_checkpoint"),
                         (evaluate, "evaluate_checkpoint"), (loop, "train")):
        monkeypatch.setattr(module, name, None)  # calling any of them would fail
    assert run_main("--phase", "compare", "--result_dir", "published", batch_size=64) == 0
    out = capsys.readouterr().out
    assert "compare: GAN_mnist_64_62: reporting its metrics.json (step 21860) as it is; the checkpoint in " \
           "checkpoint/GAN_mnist_64_62 (step 20) is not measured (--measure measures it)" in out
    assert "GAN_mnist_64_62_seed3" not in out
    assert folder_digest(published) == before
    assert (workdir / "results" / "compare_mnist" / "report.md").exists()  # the report goes to results/


def test_compare_verdicts_follow_the_spread():
    from evaluation import report as report_module
    assert "no verdict" in report_module.verdict("FCD", True, (10.0, 0.0, 1), (5.0, 0.0, 1))
    assert "cannot be told apart" in report_module.verdict("FCD", True, (10.0, 2.0, 3), (9.0, 1.5, 3))
    assert "SAGAN is better by 5" in report_module.verdict("FCD", True, (10.0, 1.0, 3), (5.0, 1.0, 3))
    assert "GAN is better by 5" in report_module.verdict("recall", False, (10.0, 1.0, 3), (5.0, 1.0, 3))


@pytest.mark.trains
def test_eval_every_epoch_logs_fcd_and_keeps_the_best_checkpoint(workdir, run_main, monkeypatch, capsys):
    assert run_main("--gan_type", "GAN", eval_every=1) == 0
    rows = read_csv(str(workdir / "results" / "GAN_mnist_8_62" / "train_log.csv"))
    assert len(rows) == 2 and all(np.isfinite(float(r["fcd"])) and float(r["classifier_score"]) >= 1
                                  for r in rows)
    best = tf.train.latest_checkpoint("checkpoint/GAN_mnist_8_62/best")
    lowest = min(rows, key=lambda r: float(r["fcd"]))
    assert best.endswith(f"-{lowest['step']}")
    assert "is the lowest so far" in capsys.readouterr().out


@pytest.mark.subprocess
def test_tensorflow_says_nothing_before_the_programs_own_lines(workdir):
    import subprocess
    import sys
    from conftest import ROOT
    script = os.path.join(ROOT, "tests", "main_on_synthetic_data.py")
    flags = ["--gan_type", "GAN", "--batch_size", "8", "--eval_every", "0", "--stop_after_steps", "1"]
    # One process starts, resumes (which once warned that get_checkpoint_mtimes is deprecated), samples, then
    # exports (whose signature builder warns of its own deprecation).
    done = subprocess.run([sys.executable, script, *flags, "--then", *flags, "--then", *flags[:4], "--phase", "sample",
                           "--num_samples", "100", "--then", *flags[:4], "--phase", "export"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.replace("\r", "\n").splitlines() if line.strip()]
    assert [line for line in lines if not line.startswith("GAN epoch 1/")] == [], done.stderr
    assert "restored" in done.stdout and (workdir / "results" / "GAN_mnist_8_62" / "samples.npz").exists()
    # A samples file's path starts TensorFlow later than the others, after reading the file: a process of its own.
    measured = subprocess.run([sys.executable, script, "--phase", "eval", "--samples",
                               "results/GAN_mnist_8_62/samples.npz", "--num_eval_samples", "100"],
                              capture_output=True, text=True, timeout=1200)
    lines = [line for line in measured.stderr.replace("\r", "\n").splitlines() if line.strip()]
    assert measured.returncode == 0 and [line for line in lines if not line.startswith("classifier epoch")] == [], \
        measured.stderr


def test_bfloat16_on_a_cpu_without_it_warns_in_one_line_before_training(workdir, run_main, monkeypatch, capsys):
    from common import tfenv
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")  # oneDNN's cap: AVX-512 without BF16 or AMX
    assert not tfenv.bfloat16_in_hardware()
    assert run_main("--gan_type", "GAN", "--precision", "bfloat16", "--stop_after_steps", 1) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: this CPU has neither AVX512_BF16 nor AMX, so --precision bfloat16 is emulated "
                        "here and runs several times slower than float32"]
    assert captured.out.index("starting from scratch") >= 0
    assert tfenv.bfloat16_in_hardware(flags={"avx512f", "amx_bf16"}, environ={})
    assert tfenv.bfloat16_in_hardware(flags={"avx512f", "avx512_bf16"}, environ={})
    assert not tfenv.bfloat16_in_hardware(flags={"avx2", "avx512f"}, environ={})


def test_a_flag_given_explicitly_under_a_recipe_is_what_the_run_trains_with(workdir, run_main):
    assert run_main("--gan_type", "GAN", "--recipe", "paper", "--learning_rate", "1e-3", "--stop_after_steps", 1) == 0
    saved = json.loads((workdir / "results" / "GAN_mnist_8_62_hinge_sn_lrd0.001_lrg0.005_b10_b20.9" / "config.json")
                       .read_text())
    model = ModelConfig(**saved["model"])
    assert (model.d_learning_rate, model.g_learning_rate, model.loss) == (1e-3, 5e-3, "hinge")
