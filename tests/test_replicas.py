"""Data-parallel training: towers on two logical CPU devices, and two workers on the loopback interface.

Logical devices and servers must exist before TensorFlow's runtime starts, so each case runs in
processes of its own.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from config import PAPER_RECIPE, ModelConfig
from test_end_to_end import checkpoint_step, checkpoint_weights
from test_models import ROUNDING_FLIPS_AT_MOST, is_pre_bn_bias

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = os.path.join(ROOT, "tests", "replicas_on_logical_cpus.py")
MAIN = os.path.join(ROOT, "tests", "main_on_synthetic_data.py")
SAFETY_SECONDS = 900  # against a hang only; no verdict depends on speed
WORKER_GIVES_UP_SECONDS = 300  # against a hang only: a worker gives up within two probes of the chief
TINY = ["--batch_size", "8", "--eval_every", "0", "--log_every", "2"]
PROBE = ["--probe_seconds", "1"]  # the tests' tasks check on each other every second, not every 5


def run(*argv, timeout=SAFETY_SECONDS):
    """Run a child to completion; its CompletedProcess."""
    return subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True, timeout=timeout)


# The article's GAN at the sizes; the paper's SAGAN (hinge, spectral norm's u, attention at 14) smaller.
TOWER_CASES = [("GAN", 64, {}), ("SAGAN", 16, PAPER_RECIPE)]
TOWER_STEPS = 3


@pytest.mark.subprocess
def test_two_towers_with_sync_bn_compute_what_one_device_with_their_whole_batch_computes(tmp_path):
    jobs = [{"out": str(tmp_path / f"{model_name}.npz"), "model": model_name, "steps": TOWER_STEPS,
             "batch_size": batch_size, "placements": ["one", "sync"] + (["apart"] if not flags else []),
             "flags": flags} for model_name, batch_size, flags in TOWER_CASES]
    done = run(CHILD, json.dumps(jobs))  # both cases in one process: logical devices cost a process each
    assert done.returncode == 0, done.stderr[-3000:]
    for (model_name, _, flags), job in zip(TOWER_CASES, jobs):
        assert_towers_match_one_device(np.load(job["out"]), model_name, flags, job["placements"])


def assert_towers_match_one_device(out, model_name, flags, placements):
    """The towers' gradients, losses and weights against one device's, from the child's npz."""
    steps = TOWER_STEPS
    assert list(out["one/devices"]) == [""]
    assert list(out["sync/devices"]) == ["/device:CPU:0", "/device:CPU:1"]  # both towers did the arithmetic
    grads = sorted({k.split("/")[2] for k in out if "/grad/" in k}, key=int)
    apart_differs = False
    for i in grads:
        one, sync = out[f"one/grad/{i}"], out[f"sync/grad/{i}"]
        # The gradients at the same weights: float rounding only (pre-BN biases have a gradient of pure rounding).
        assert_same_gradient(sync, one, rtol=1e-3, atol=1e-5 + 1e-4 * np.abs(one).max(), err_msg=i)
        if "apart" in placements:
            apart_differs |= bool(np.abs(out[f"apart/grad/{i}"] - one).max() > 0.1 * np.abs(one).max())
    assert apart_differs or "apart" not in placements  # without --sync_bn each tower normalises its own slice
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(out[f"sync/loss/0/{key}"], out[f"one/loss/0/{key}"], rtol=1e-5)
        for step in range(1, steps):  # later steps read weights that Adam's noise moved (test_models)
            np.testing.assert_allclose(out[f"sync/loss/{step}/{key}"], out[f"one/loss/{step}/{key}"], rtol=2e-2)
    names = [k[len("one/last/"):] for k in out if k.startswith("one/last/")]
    config = ModelConfig(model_name, **flags)
    lr = max(config.d_learning_rate, config.g_learning_rate)  # every weight moves at most by its own rate
    moved_at_most = 2 * lr * adam_steps_bound(steps, config.beta1, config.beta2) + 1e-4  # by either run
    u_count = 0
    for name in names:
        if name.startswith("discriminator/") and "/moving_" in name and "Adam" not in name:
            continue  # D(real) and D(fake) update them in either order (test_models)
        if name.endswith("/u"):  # moved once in the first step, from the initial weights, by the first tower's pass
            u_count += 1
            moves = out[f"one/first/{name}"].size > 1 and not name.startswith("generator_ema/")  # ema: test_recipe
            assert np.any(out[f"one/first/{name}"] != out[f"one/last/{name}"]) == moves, name
            np.testing.assert_allclose(out[f"sync/first/{name}"], out[f"one/first/{name}"], rtol=1e-4, atol=1e-6,
                                       err_msg=name)
        elif "Adam" not in name:
            # After one step, only elements whose gradient is rounding noise differ: Adam scales that up to a
            # step (test_models); after several, every weight is within Adam's bound of 2 lr a step. With the
            # paper's beta1 = 0 and hinge loss, Adam's first step is lr * sign(gradient) for every weight, so
            # only the bound holds there (test_recipe); the gradients above are its exact check.
            first = ~np.isclose(out[f"sync/first/{name}"], out[f"one/first/{name}"], rtol=1e-4, atol=1e-6)
            assert flags or is_pre_bn_bias(name) or first.mean() < ROUNDING_FLIPS_AT_MOST, (name, first.mean())
            apart = np.abs(out[f"sync/last/{name}"] - out[f"one/last/{name}"]).max()
            assert apart <= moved_at_most, (name, apart, moved_at_most)
    assert (u_count > 0) == bool(flags)


def adam_steps_bound(steps, beta1, beta2):
    """The most Adam, with bias correction, can move a weight in its first steps, in units of its learning rate.

    At step t the update is m/sqrt(v) (epsilon aside), with m = sum a_i g_i and v = sum b_i g_i^2 over the
    gradients so far; by Cauchy-Schwarz |m| / sqrt(v) <= sqrt(sum a_i^2 / b_i), whatever the gradients. That
    is 1 at the first step, and a little more later (1.054, then 1.134 with the article's betas).
    """
    total = 0.0
    for t in range(1, steps + 1):
        age = t - np.arange(1, t + 1)
        a = (1 - beta1) * beta1 ** age / (1 - beta1 ** t)
        b = (1 - beta2) * beta2 ** age / (1 - beta2 ** t)
        total += float(np.sqrt(np.sum(a ** 2 / b)))
    return total


def test_adams_bound_is_one_learning_rate_at_the_first_step_and_grows_with_momentum():
    assert adam_steps_bound(1, 0.5, 0.999) == pytest.approx(1.0)
    assert adam_steps_bound(3, 0.5, 0.999) == pytest.approx(1 + 1.0541 + 1.1339, abs=1e-3)
    assert adam_steps_bound(3, 0.0, 0.9) > 3  # the paper's beta1 = 0: no momentum, yet v forgets fast


def assert_same_gradient(actual, desired, rtol, atol, err_msg):
    """Elementwise equal within float rounding, or, failing that, within 1% of the gradient's norm.

    At the initial weights G's images are nearly constant, so a channel of D's first convolution whose
    kernel sums to about 0 puts all of them within rounding of its leaky ReLU's kink. Towers round
    differently, a few units take the other side, and every gradient that flows through them moves by
    about 0.2% of its norm. A missing tower average or unsynced statistics move gradients by 10 to 100%.
    """
    if np.allclose(actual, desired, rtol=rtol, atol=atol):
        return
    relative = np.linalg.norm(actual - desired) / np.linalg.norm(desired)
    assert relative < 1e-2, (err_msg, f"gradients differ by {relative:.2%} of their norm")


def free_ports(count):
    """Ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_worker(cluster, cwd, index=1):
    """A task of the cluster other than the chief, serving in the background."""
    return subprocess.Popen([sys.executable, MAIN, "--cluster", cluster, "--task_index", str(index), "--gan_type",
                             "GAN", *PROBE],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def chief_command(cluster, *flags):
    """main.py as the cluster's chief."""
    return [sys.executable, MAIN, "--cluster", cluster, "--task_index", "0", "--gan_type", "GAN", *TINY, *PROBE, *flags]


@pytest.mark.subprocess
def test_two_loopback_workers_train_what_two_local_devices_train(workdir, run_main, capsys):
    cluster = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    worker = start_worker(cluster, workdir)
    try:
        chief = subprocess.run(chief_command(cluster, "--sync_bn", "--epoch", "1", "--stop_after_steps", "3",
                                             "--checkpoint_dir", "cluster"),
                               cwd=workdir, capture_output=True, text=True, timeout=SAFETY_SECONDS)
        out, err = worker.communicate(timeout=SAFETY_SECONDS)
    finally:
        worker.kill()
    assert chief.returncode == 0, chief.stderr[-3000:]
    assert worker.returncode == 0 and "the chief is done" in out, err[-3000:]
    local = subprocess.run([sys.executable, MAIN, "--gan_type", "GAN", "--devices", "2", "--sync_bn", "--epoch", "1",
                            "--stop_after_steps", "3", "--checkpoint_dir", "local", *TINY],
                           cwd=workdir, capture_output=True, text=True, timeout=SAFETY_SECONDS)
    assert local.returncode == 0, local.stderr[-3000:]
    in_cluster, on_one_machine = (weights_in(f"{root}/GAN_mnist_8_62") for root in ("cluster", "local"))
    assert in_cluster.keys() == on_one_machine.keys()
    for name in in_cluster:  # the same towers, placed on two processes instead of two devices of one
        np.testing.assert_allclose(in_cluster[name], on_one_machine[name], rtol=1e-5, atol=1e-6, err_msg=name)
    # The chief's checkpoint goes on training on one device (in this process: no cluster, no logical devices).
    capsys.readouterr()
    assert run_main("--gan_type", "GAN", "--epoch", 1, "--checkpoint_dir", "cluster") == 0
    assert "resuming from step 3" in capsys.readouterr().out


def weights_in(folder):
    """{name: value} of the newest checkpoint in folder."""
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(folder))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def wait_for(predicate, what, alive=lambda: True, seconds=SAFETY_SECONDS):
    """Poll until predicate() holds, while alive() does."""
    deadline = time.time() + seconds
    while not predicate():
        assert alive(), f"the process died before its {what}"
        assert time.time() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.5)


@pytest.mark.subprocess
def test_a_dead_worker_stops_the_others_with_clear_errors_and_an_intact_checkpoint(workdir):
    cluster = ",".join(f"127.0.0.1:{p}" for p in free_ports(3))
    survivor, victim = start_worker(cluster, workdir, 1), start_worker(cluster, workdir, 2)
    chief = subprocess.Popen(chief_command(cluster, "--epoch", "1000", "--save_every", "2", "--batch_size", "6"),
                             cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # 3 x 2
    try:
        wait_for(lambda: os.path.exists(workdir / "checkpoint" / "GAN_mnist_6_62" / "checkpoint"), "checkpoint",
                 lambda: chief.poll() is None)
        victim.send_signal(signal.SIGKILL)
        _, chief_err = chief.communicate(timeout=SAFETY_SECONDS)
        _, survivor_err = survivor.communicate(timeout=SAFETY_SECONDS)
    finally:
        for process in (chief, survivor, victim):
            process.kill()
    assert chief.returncode == 1
    assert "stopped answering" in chief_err and "restart every task" in chief_err, chief_err[-3000:]
    assert survivor.returncode == 1 and "the chief stopped on an error" in survivor_err, survivor_err[-3000:]
    assert "Traceback" not in chief_err + survivor_err
    assert checkpoint_step("GAN_mnist_6_62")[0] > 0 and checkpoint_weights("GAN_mnist_6_62")  # whole and readable


@pytest.mark.subprocess
def test_a_dead_chief_stops_its_worker_with_a_clear_error(workdir):
    cluster = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    # The chief first: it trains as soon as the worker serves, and dies before the worker's first probe.
    chief = subprocess.Popen(chief_command(cluster, "--epoch", "1000"), cwd=workdir, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    worker = start_worker(cluster, workdir)
    try:
        wait_for(lambda: os.path.exists(workdir / "results" / "GAN_mnist_8_62" / "steps.csv"), "training step",
                 lambda: chief.poll() is None)
        chief.send_signal(signal.SIGKILL)
        _, err = worker.communicate(timeout=WORKER_GIVES_UP_SECONDS)
    finally:
        chief.kill()
        worker.kill()
    assert worker.returncode == 1
    assert "the chief at" in err and "stopped answering" in err and "Traceback" not in err, err[-3000:]


def test_cluster_flags_and_tf_config_name_the_same_tasks():
    from parallel import cluster
    from common.errors import UserError
    tasks, index = cluster.cluster_from_flags("10.0.0.1:2222, 10.0.0.2:2222", 1)
    assert tasks == (("worker", "10.0.0.1:2222"), ("worker", "10.0.0.2:2222")) and index == 1
    spec = {"cluster": {"worker": ["10.0.0.2:2222"], "chief": ["10.0.0.1:2222"]},
            "task": {"type": "worker", "index": 0}}
    tasks, index = cluster.cluster_from_tf_config(json.dumps(spec))
    assert tasks == (("chief", "10.0.0.1:2222"), ("worker", "10.0.0.2:2222")) and index == 1
    assert [cluster._task_name(tasks, i) for i in (0, 1)] == ["/job:chief/replica:0/task:0",
                                                              "/job:worker/replica:0/task:0"]
    for bad in (lambda: cluster.cluster_from_flags("10.0.0.1:2222", 0),
                lambda: cluster.cluster_from_flags("a:1,b:2", 2),
                lambda: cluster.cluster_from_tf_config("{not json"),
                lambda: cluster.cluster_from_tf_config(json.dumps({"cluster": {"ps": ["a:1"], "worker": ["b:2"]},
                                                                   "task": {"type": "worker", "index": 0}}))):
        with pytest.raises(UserError):
            bad()


@pytest.mark.parametrize("flags, message", [
    (["--devices", "2", "--batch_size", "7"], "does not split evenly over 2 devices"),
    (["--devices", "0"], "0 is not in [1, 1024]"),
    (["--devices", "gpu0"], "neither a count nor device names"),
    (["--devices", "/cpu:0,/gpu:7"], "this machine has no /gpu:7"),
    (["--cluster", "127.0.0.1:1"], "names 1 task"),
])
def test_bad_parallel_flags_are_one_line_errors_with_status_2(workdir, capsys, flags, message):
    # In this process: each is refused before a logical device is made or a server started.
    import main
    try:
        status = main.main(["--gan_type", "GAN", "--eval_every", "0", *flags])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err[-3000:]
    assert not os.path.exists(workdir / "checkpoint" / "GAN_mnist_64_62")


def test_a_worker_told_the_chief_is_done_serves_until_the_chief_has_gone():
    import queue
    import threading
    import types

    from parallel import cluster

    chief = socket.socket()  # stands in for the chief's server, which its closing session still calls
    chief.bind(("127.0.0.1", 0))
    chief.listen()
    tokens = queue.Queue()
    tokens.put(cluster.DONE)
    said = []
    watcher = threading.Thread(target=cluster._watch, daemon=True,
                               args=(types.SimpleNamespace(task_index=1, probe_seconds=5.0), tokens,
                                     "127.0.0.1:%d" % chief.getsockname()[1], said.append))
    watcher.start()
    watcher.join(timeout=2)
    assert watcher.is_alive(), "the worker left while the chief still served"
    chief.close()
    watcher.join(timeout=cluster.STEP_TIMEOUT_SECONDS)  # a safety limit only: it leaves within a probe
    assert not watcher.is_alive() and len(said) == 1 and "the chief is done" in said[0]
