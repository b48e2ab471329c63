"""Training survives kills, signals, NaNs, corrupt checkpoints, full disks and a second process."""
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from training import streams
from conftest import ROOT
from test_end_to_end import checkpoint_step, folder_digest

SCRIPT = os.path.join(ROOT, "tests", "main_on_synthetic_data.py")
MODEL_DIR = "GAN_mnist_8_62"
SAFETY_SECONDS = 1200  # a limit against hanging, never what a test checks
MIN_KILLS, MAX_KILLS = 3, 30  # kill -9s of one test; more until each kind of moment below has been hit


def start(*argv, **popen):
    args = [sys.executable, SCRIPT, "--gan_type", "GAN", "--batch_size", "8", "--eval_every", "0", *map(str, argv)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # what it printed before a kill -9 is not lost
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def partial_checkpoints(folder):
    """The files of checkpoints being written (or left half-written by a kill) in folder."""
    return {name for name in os.listdir(folder) if "tempstate" in name}


def latest_complete_step(folder):
    """The step of the newest checkpoint, after reading every one of its tensors; None if there is none."""
    path = tf.train.latest_checkpoint(folder)
    if path is None:
        return None
    reader = tf.train.load_checkpoint(path)
    for name in reader.get_variable_to_shape_map():
        reader.get_tensor(name)
    return int(reader.get_tensor("global_step"))


@pytest.mark.subprocess
def test_kill_9_at_random_moments_never_loses_the_latest_checkpoint(workdir, run_main, tiny_run):
    rng = random.Random(1234)
    folder = os.path.join("checkpoint", MODEL_DIR)
    lock = os.path.join(folder, ".lock")
    tiny_run("GAN")  # two steps: the kills start from a checkpoint; only the killed runs need processes
    first_step = newest = latest_complete_step(folder)
    # At least MIN_KILLS, and more until one landed mid-save, one after a restore and one after a new
    # checkpoint (at most MAX_KILLS). The deadline only keeps a broken run from hanging the suite.
    kills, mid_save, restored_from, deadline = 0, 0, 0, time.time() + SAFETY_SECONDS
    window = 3.0  # seconds after the lock in which a kill lands; it widens on a machine too slow to save in it
    while ((kills < MIN_KILLS or not (mid_save and restored_from and newest > first_step)) and kills < MAX_KILLS
           and time.time() < deadline):
        earlier = partial_checkpoints(folder)  # a killed save's leftovers, which the next run removes
        process = start("--epoch", 1000, "--save_every", 1, "--log_every", 1)
        while process.poll() is None and not (os.path.exists(lock) and open(lock).read() == str(process.pid)):
            time.sleep(0.02)  # TensorFlow's start-up is not what is tested
        # From the lock on: restoring, training steps and checkpoints written every step.
        if kills % 3 == 1:  # every third kill lands inside a checkpoint's writing, which a random moment seldom hits
            while process.poll() is None and not partial_checkpoints(folder) - earlier and time.time() < deadline:
                time.sleep(0.002)
        else:
            time.sleep(rng.uniform(0.0, window))
        process.kill()
        out, _ = process.communicate()
        kills += 1
        mid_save += bool(partial_checkpoints(folder) - earlier)
        restored_from += "restored" in out
        step = latest_complete_step(folder)
        assert step is not None and step >= newest, f"kill {kills}: checkpoint went back to {step} from {newest}"
        if "restored" in out:  # killed after restoring: it restored exactly the newest complete checkpoint
            assert f"restored {os.path.join(folder, 'GAN.model')}-{newest} (step {newest})" in out, out
        if step == newest:
            window = min(window * 1.5, 60.0)
        newest = step
    assert kills >= MIN_KILLS and newest > first_step, \
        f"{kills} kills before the deadline; newest step {newest}, first {first_step}"
    assert mid_save > 0, "no kill landed while a checkpoint was being written"
    assert restored_from > 0
    # The last kill may have left a checkpoint the index no longer lists; the next run removes it.
    assert run_main("--gan_type", "GAN", "--epoch", 1000, "--stop_after_steps", 1) == 0
    assert len([f for f in os.listdir(folder) if f.endswith(".index")]) <= 3  # max_to_keep holds across restarts


@pytest.mark.subprocess
def test_signal_saves_and_says_how_to_resume(workdir):
    # Ctrl-C; the loop takes SIGTERM with the same handler (training/loop.py), sent in test_interrupts.
    sig, status = signal.SIGINT, 130
    process = start("--epoch", 1000, "--save_every", 100000, "--log_every", 1)
    deadline = time.time() + SAFETY_SECONDS
    while time.time() < deadline:  # wait for training steps, seen in steps.csv
        time.sleep(0.1)
        if os.path.exists(os.path.join("results", MODEL_DIR, "steps.csv")):
            break
    process.send_signal(sig)
    out, err = process.communicate(timeout=SAFETY_SECONDS)
    assert process.returncode == status, err
    assert "run the same command to resume" in out
    assert checkpoint_step(MODEL_DIR)[0] >= 1


@pytest.mark.trains
def test_nan_stops_training_and_keeps_the_last_finite_checkpoint(workdir, run_main, monkeypatch, capsys):
    original = streams.batch_z

    def poisoned(config, step):
        z = original(config, step)
        return z * np.nan if step == 3 else z
    monkeypatch.setattr(streams, "batch_z", poisoned)
    assert run_main("--gan_type", "GAN", "--save_every", 1) == 1
    assert "non-finite loss at step 4" in capsys.readouterr().err
    assert checkpoint_step(MODEL_DIR)[0] == 3
    assert latest_complete_step(os.path.join("checkpoint", MODEL_DIR)) == 3


def _three_checkpoints(tiny_run):
    """The run `--save_every 1 --stop_after_steps 3` leaves: checkpoints of steps 1, 2 and 3 (trained once)."""
    tiny_run("GAN", 3, "--save_every", 1)
    return os.path.join("checkpoint", MODEL_DIR, "GAN.model-3")


@pytest.mark.trains
@pytest.mark.parametrize("damage", ["truncate data", "delete index"])
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(workdir, run_main, tiny_run, capsys, damage):
    prefix = _three_checkpoints(tiny_run)
    if damage == "truncate data":
        data = prefix + ".data-00000-of-00001"
        os.truncate(data, os.path.getsize(data) // 2)
    else:
        os.remove(prefix + ".index")
    capsys.readouterr()
    assert run_main("--gan_type", "GAN", "--stop_after_steps", 1) == 0
    out = capsys.readouterr().out
    assert "warning: checkpoint" in out and "trying the previous checkpoint" in out
    assert "restored checkpoint/GAN_mnist_8_62/GAN.model-2 (step 2)" in out


@pytest.mark.trains
def test_a_resumed_run_removes_checkpoint_files_the_index_no_longer_lists(workdir, run_main, tiny_run, capsys):
    prefix = _three_checkpoints(tiny_run)
    folder = os.path.dirname(prefix)
    # As a kill -9 leaves them: an old checkpoint unlisted but not yet deleted, a new one written but not listed.
    orphans = [f"GAN.model-0{suffix}" for suffix in (".index", ".meta", ".data-00000-of-00001")] + \
              ["GAN.model-7.index", "GAN.model-7.data-00000-of-00001"]
    for name in orphans:
        shutil.copy(prefix + (".data-00000-of-00001" if ".data-" in name else name[name.index(".", 6):]),
                    os.path.join(folder, name))
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("mine")
    capsys.readouterr()
    assert run_main("--gan_type", "GAN", "--save_every", 1, "--stop_after_steps", 1) == 0
    out = capsys.readouterr().out
    assert f"removed {len(orphans)} files of checkpoints the index no longer lists" in out
    names = set(os.listdir(folder))
    assert not names & set(orphans) and "notes.txt" in names
    assert {f"GAN.model-{step}.index" for step in (2, 3, 4)} <= names  # the listed ones, and the new one
    assert checkpoint_step(MODEL_DIR)[0] == 4


@pytest.mark.trains
def test_no_complete_checkpoint_is_an_error_that_changes_nothing(workdir, run_main, tiny_run, capsys):
    _three_checkpoints(tiny_run)
    folder = os.path.join("checkpoint", MODEL_DIR)
    for name in os.listdir(folder):
        if name.endswith(".index"):
            os.remove(os.path.join(folder, name))
    before = folder_digest("checkpoint"), folder_digest("results")
    assert run_main("--gan_type", "GAN") == 2
    assert run_main("--gan_type", "GAN", "--phase", "sample") == 2
    assert "no complete checkpoint" in capsys.readouterr().err
    assert (folder_digest("checkpoint"), folder_digest("results")) == before


def test_second_process_is_refused_while_the_first_holds_the_lock(workdir, run_main, capsys):
    folder = workdir / "checkpoint" / MODEL_DIR
    folder.mkdir(parents=True)
    with open(folder / ".lock", "a+") as held:
        held.write("4242")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert run_main("--gan_type", "GAN") == 2
        assert "another training process (pid 4242)" in capsys.readouterr().err
        assert os.listdir(folder) == [".lock"]
    # The lock file of a process that is gone does not block.
    assert run_main("--gan_type", "GAN", "--stop_after_steps", 1) == 0


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    # One GAN checkpoint (weights and Adam state, about 160 MB) fits; a second does not.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=240m", "tmpfs", str(mount_point)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.trains
def test_full_disk_is_a_clear_error_and_the_previous_checkpoint_stays(workdir, run_main, capsys, small_disk):
    assert run_main("--gan_type", "GAN", "--checkpoint_dir", small_disk, "--stop_after_steps", 1) == 0
    folder = os.path.join(small_disk, MODEL_DIR)
    assert run_main("--gan_type", "GAN", "--checkpoint_dir", small_disk, "--save_every", 1) == 2
    err = capsys.readouterr().err
    assert "cannot write a checkpoint" in err and "the previous checkpoint is intact" in err
    assert latest_complete_step(folder) == 1
