"""Child of test_replicas.py: train one model on one device and on two logical CPU devices, from the same weights.

Logical devices must be made before TensorFlow's runtime starts, so this runs in a process of its own.
Usage: replicas_on_logical_cpus.py JOBS, a JSON list of {"out": OUT.npz, "model": GAN|SAGAN, "steps": N,
"batch_size": B, "placements": ["one", "sync", "apart"], "flags": {recipe flags}}: one process for all of them.
Writes, per job and placement: the gradients of both losses at the initial weights, the losses of each step,
and every variable after the first step and after the last (for "apart", its gradients only).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from common import tfenv  # noqa: E402
from config import ModelConfig, ParallelConfig  # noqa: E402
from config import model_class  # noqa: E402
from common.graph import load_values  # noqa: E402
from parallel.replicas import ONE_DEVICE, Placement  # noqa: E402
from training.runner import Runner  # noqa: E402

DEVICES = ("/device:CPU:0", "/device:CPU:1")


def main(out, model_name, steps, batch_size, wanted, flags):
    """Train each placement from the first one's initial weights; save what the test compares."""
    from parallel import cluster
    tf = tfenv.tensorflow()
    tf1 = tf.compat.v1
    parallel = ParallelConfig(devices=("2",))
    cluster.prepare_devices(parallel)
    rng = np.random.default_rng(0)
    batches = rng.random((steps, batch_size, 28, 28, 1), dtype=np.float32)
    zs = rng.uniform(-1, 1, (steps, batch_size, 62)).astype(np.float32)
    config = ModelConfig(gan_type=model_name, batch_size=batch_size, **flags)
    placements = {"one": ONE_DEVICE, "sync": Placement(DEVICES, "/device:CPU:0", True),
                  "apart": Placement(DEVICES, "/device:CPU:0", False)}
    initial, saved = None, {}
    for name in wanted:
        placement = placements[name]
        with tf.Graph().as_default(), tf1.Session(config=cluster.session_config(parallel, tf)) as sess:
            model = model_class(model_name)(config, placement)
            model.build_model()
            runner = Runner(model, sess)
            variables = {v.op.name: v for v in tf1.global_variables()}
            grads = tf.gradients(model.d_loss, model.d_vars) + tf.gradients(model.g_loss, model.g_vars)
            if initial is None:
                runner.initialize()
                initial = dict(zip(variables, sess.run(list(variables.values()))))
            else:
                load_values(sess, {v: initial[key] for key, v in variables.items()})
            feed = {model.inputs: batches[0], model.z: zs[0]}
            for i, g in enumerate(sess.run(grads, feed)):
                saved[f"{name}/grad/{i}"] = g
            placed = {op.device for op in sess.graph.get_operations() if op.type in ("Conv2D", "MatMul")}
            saved[f"{name}/devices"] = np.array(sorted(placed))
            for step in range(steps if name != "apart" else 0):  # apart: its gradients are what the test reads
                losses = runner.run_train_step(batches[step], zs[step])
                for key, value in losses.items():
                    saved[f"{name}/loss/{step}/{key}"] = value
                if step in (0, steps - 1):
                    for key, value in zip(variables, sess.run(list(variables.values()))):
                        saved[f"{name}/{'first' if step == 0 else 'last'}/{key}"] = value
    np.savez(out, **saved)


if __name__ == "__main__":
    for job in json.loads(sys.argv[1]):
        main(job["out"], job["model"], job["steps"], job["batch_size"], job["placements"], job["flags"])
