"""Shared fixtures: a tiny synthetic IDX dataset and an in-process main()."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import tfenv  # noqa: E402

tfenv.tensorflow()  # graph mode, as main.py runs

from common import data  # noqa: E402

TINY_TRAIN, TINY_TEST = 40, 8  # 48 images: 6 batches of 8

from tiny import RUN_FLAGS  # noqa: E402


def write_tiny_dataset(folder, n_train=TINY_TRAIN, n_test=TINY_TEST, gz=False, seed=0):
    """Write four small random IDX files (raw or .gz) into folder."""
    import gzip
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays = {"images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                  "labels-idx1-ubyte": rng.integers(0, 10, (n,), dtype=np.uint8)}
        for kind, array in arrays.items():
            path = os.path.join(folder, f"{prefix}-{kind}")
            data.write_idx(path, array)
            if gz:
                with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as out:
                    out.write(f.read())
                os.remove(path)


@pytest.fixture
def no_known_hashes(monkeypatch):
    """Let synthetic files stand in for the real datasets, whose hashes they cannot have."""
    monkeypatch.setattr(data, "KNOWN_SHA256", {})


@pytest.fixture
def workdir(tmp_path, monkeypatch, no_known_hashes):
    """A folder with data/mnist holding the tiny dataset, as the current directory."""
    write_tiny_dataset(str(tmp_path / "data" / "mnist"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run_main():
    """Call main.main(argv) in-process with small defaults; returns its exit status."""
    import main

    def run(*argv, **flags):
        defaults = {**RUN_FLAGS, **flags}
        args = [str(a) for a in argv] + [f"--{k}={v}" for k, v in defaults.items()]
        return main.main(args)
    return run


@pytest.fixture
def op_determinism():
    """TensorFlow's deterministic kernels for one test, turned off again after it."""
    from tensorflow.python.framework import config as tf_config
    tf_config.enable_op_determinism()
    yield
    tf_config.disable_op_determinism()


@pytest.fixture
def sess():
    """A session on a new graph with a fixed graph-level seed, for tests of single ops."""
    tf1 = tfenv.tensorflow().compat.v1
    with tfenv.tensorflow().Graph().as_default(), tf1.Session() as session:
        tf1.set_random_seed(1)
        yield session


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """The folder holding this test session's tiny runs, one subfolder each: shared by its pytest-xdist workers
    (their base folders sit side by side in the session's), so each run trains once per session."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "tiny_runs"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def tiny_run(workdir, run_main, tiny_runs):
    """tiny_run(gan_type, steps=2, *flags): the run `--stop_after_steps steps` leaves, in workdir's checkpoint/,
    results/ and logs/. Each (gan_type, steps, flags) trains once per test session, by whichever worker asks for it
    first while the other waits, and is copied into each test's folder."""
    import fcntl
    import hashlib
    import shutil

    def copy(gan_type, steps=2, *flags):
        name = f"{gan_type}_{steps}_{hashlib.sha256(repr(flags).encode()).hexdigest()[:12]}"
        cache = tiny_runs / name
        with open(tiny_runs / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (cache / "complete").exists():
                shutil.rmtree(cache, ignore_errors=True)  # a worker that failed midway left it
                folders = {f"--{kind}_dir": str(cache / kind) for kind in ("checkpoint", "result", "log")}
                assert run_main("--gan_type", gan_type, "--stop_after_steps", steps, *flags,
                                *[x for flag, path in folders.items() for x in (flag, path)]) == 0
                os.rename(cache / "result", cache / "results")
                os.rename(cache / "log", cache / "logs")
                (cache / "complete").touch()
        for kind in ("checkpoint", "results", "logs"):
            shutil.copytree(cache / kind, workdir / kind, dirs_exist_ok=True)
    return copy


# Heaviest first: pytest-xdist hands tests out in this order, so the long ones start early and no worker is left
# running one alone at the end. The markers say what a test is (pytest.ini); the order is only a schedule.
_SCHEDULE = ("subprocess", "e2e", "trains")


def pytest_collection_modifyitems(items):
    def rank(item):
        return next((i for i, mark in enumerate(_SCHEDULE) if item.get_closest_marker(mark)), len(_SCHEDULE))
    items.sort(key=rank)  # stable: within a rank, the files' own order
