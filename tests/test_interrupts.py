"""Ctrl-C and SIGTERM outside the training loop: one line, status 130 or 143, nothing half-written."""
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from common import interrupts
from common.errors import Interrupted
from conftest import ROOT, write_tiny_dataset

SCRIPT = os.path.join(ROOT, "tests", "main_on_synthetic_data.py")
SAFETY_SECONDS = 1200  # a limit against hanging, never what a test checks


def wait_for_line(process, text):
    """Read the process's stdout until a line containing text; returns what was read."""
    seen, deadline = "", time.time() + SAFETY_SECONDS
    while text not in seen:
        assert time.time() < deadline and process.poll() is None, seen
        if select.select([process.stdout], [], [], 1.0)[0]:
            seen += process.stdout.readline()
    return seen


@pytest.mark.subprocess
def test_stop_while_the_classifier_trains_says_what_was_kept(tmp_path):
    # SIGTERM here, Ctrl-C in test_reliability's training loop: each signal crosses a process once, and
    # test_either_stop_is_one_line_with_its_status holds both to the same path.
    sig, status = signal.SIGTERM, 143
    # Enough images that the classifier's five epochs take a while on any machine.
    write_tiny_dataset(str(tmp_path / "data" / "mnist"), n_train=20_000, n_test=200)
    process = subprocess.Popen([sys.executable, SCRIPT, "--gan_type", "GAN", "--phase", "eval"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    before = wait_for_line(process, "training the mnist classifier")
    process.send_signal(sig)
    out, err = process.communicate(timeout=SAFETY_SECONDS)
    assert process.returncode == status, err
    assert "Traceback" not in err
    last = (before + out).strip().splitlines()[-1]
    assert last == (f"stopped by {signal.Signals(sig).name} while training the mnist classifier: it was not "
                    "saved, and trains again from the start (one saved before is kept as it was); run the same "
                    "command to continue")
    # Nothing half-written: no classifier folder, and no partial file anywhere.
    assert not (tmp_path / "checkpoint" / "classifier_mnist").exists()
    assert [p for p in tmp_path.rglob("*") if "partial" in p.name] == []


@pytest.mark.parametrize("stop, status, name", [(KeyboardInterrupt, 130, "SIGINT"),
                                                 (interrupts._Terminated, 143, "SIGTERM")])
def test_either_stop_is_one_line_with_its_status(stop, status, name):
    with pytest.raises(Interrupted) as stopped:
        with interrupts.stops_reported():
            # What the handlers raise: KeyboardInterrupt for Ctrl-C, _Terminated for SIGTERM.
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
            assert signal.getsignal(signal.SIGTERM) is interrupts._raise_terminated
            with interrupts.activity("training the mnist classifier", "it was not saved"):
                raise stop
    assert stopped.value.exit_status == status
    assert str(stopped.value) == (f"stopped by {name} while training the mnist classifier: it was not saved; "
                                  "run the same command to continue")


DEFERRED_CHILD = """
import os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from common import interrupts
from common.errors import Interrupted
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, not a background job
try:
    with interrupts.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        print("block finished", flush=True)
except KeyboardInterrupt:
    print("interrupted after the block", flush=True)
"""


@pytest.mark.subprocess
def test_deferred_holds_a_signal_until_the_block_ends():
    # In a child: a SIGINT sent to the pytest worker itself could land anywhere in it, outside this test too.
    done = subprocess.run([sys.executable, "-c", DEFERRED_CHILD, ROOT], capture_output=True, text=True,
                          timeout=SAFETY_SECONDS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["block finished", "interrupted after the block"]


def test_a_failed_atomic_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with interrupts.replaced_atomically(str(path)) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]
    with interrupts.replaced_atomically(str(path)) as tmp:
        np.save(open(tmp, "wb"), np.zeros(3))
    assert os.listdir(tmp_path) == ["metrics.json"] and np.load(path).tolist() == [0.0, 0.0, 0.0]
