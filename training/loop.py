"""The training loop: epochs and batches, Ctrl-C and SIGTERM, the folder lock, per-epoch outputs, summaries.

It drives a training/runner.Runner (initialize, run_d_step, run_train_step, generate_from), keeps its checkpoints
(training/checkpoints), draws from training/streams, and never builds graph ops: TensorBoard images and
scalars are written as protocol buffers.
"""
import fcntl
import glob
import io
import os
import signal
import time

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from config import learning_rate_scale
from common.errors import Interrupted, NonFinite, UserError
from common import tfenv
from common.interrupts import STOP_SIGNALS
from training import checkpoints, streams
from training.runlog import RunLog, write_run_config
from utils import image_grid, plot_curves, save_gif, save_grid

tf1 = tf.compat.v1


def train(runner, folders, config, log=print, evaluate_epoch=None):
    """Train to config.epoch, resuming from the latest checkpoint; Ctrl-C or SIGTERM saves and stops. folders
    (config.Folders): where the run's checkpoints, results and logs go.

    evaluate_epoch(runner) -> {'fcd', 'classifier_score'} runs every config.eval_every epochs when given;
    the checkpoint of the lowest FCD so far is kept in checkpoint/<model_dir>/best/.
    """
    folder = folders.made("checkpoint", runner.model_dir)
    lock = acquire_lock(folder)
    for partial in glob.glob(os.path.join(folder, "*.tempstate*")):
        os.remove(partial)  # left by a process killed while saving; we hold the lock, nobody writes it
    try:
        return _Run(runner, folders, config, log, evaluate_epoch).loop()
    finally:
        lock.close()


class _Run:
    """One call of train(): the state its loop shares with its per-epoch outputs."""

    def __init__(self, runner, folders, config, log, evaluate_epoch):
        self.runner, self.config, self.log, self.evaluate_epoch = runner, config, log, evaluate_epoch
        self.result_dir = folders.made("result", runner.model_dir)
        self.log_dir = folders.made("log", runner.model_dir)
        self.checkpoints = checkpoints.of_run(runner, folders)
        self.checkpoint_dir = self.checkpoints.folder  # train() made it
        self.runlog = RunLog(self.result_dir)
        self.machine = tfenv.describe_machine(len(tf.config.list_physical_devices("GPU")))
        self.stop_signal = None

    def request_stop(self, signum, _frame):
        """The first signal stops the loop after the current step; a second stops it at once."""
        if self.stop_signal is not None:
            raise KeyboardInterrupt
        self.stop_signal = signum

    def loop(self):
        """Restore, then train epoch by epoch; returns the step reached."""
        runner, config = self.runner, self.config
        runner.initialize()
        step = self.checkpoints.load(self.log)
        write_run_config(self.result_dir, runner.config, config)  # once the run is known to go on
        self.checkpoints.remove_unlisted(self.log)  # we hold the folder's lock
        if step is None:
            step = 0
            self.log(f"{runner.model_name}: starting from scratch in {self.checkpoint_dir}")
        else:
            self.log(f"{runner.model_name}: resuming from step {step}")
        self.runlog.rewind(step)
        self.writer = tf1.summary.FileWriter(self.log_dir,
                                             runner.sess.graph if step == 0 else None)
        old_handlers = {s: signal.signal(s, self.request_stop) for s in STOP_SIGNALS}
        start_epoch, start_batch = divmod(step, runner.steps_per_epoch)
        self.steps_this_run = 0
        try:
            for epoch in range(start_epoch, config.epoch):
                step = self.run_epoch(epoch, start_batch, step)
                if self.stopping():
                    break
                start_batch = 0
        finally:
            for s, handler in old_handlers.items():
                signal.signal(s, handler)
            self.writer.close()
        if self.stop_signal is not None:
            raise Interrupted(128 + self.stop_signal,
                              f"{runner.model_name}: stopped by signal {self.stop_signal} at step {step}; checkpoint "
                              f"saved in {self.checkpoint_dir}; run the same command to resume")
        self.log(f"{runner.model_name}: at step {step}, epoch {min(step // runner.steps_per_epoch, config.epoch)}/"
                 f"{config.epoch}; results in {self.result_dir}")
        return step

    def stopping(self):
        """A signal came, or this run has taken its --stop_after_steps."""
        return self.stop_signal is not None or self.steps_this_run == self.config.stop_after_steps

    def run_epoch(self, epoch, start_batch, step):
        """The steps of one epoch from start_batch (a step takes --d_steps batches), then its outputs if it
        finished; returns the step."""
        runner, config = self.runner, self.config
        batch_size, d_steps = runner.config.batch_size, runner.config.d_steps
        steps_per_epoch = runner.steps_per_epoch
        order = streams.epoch_order(runner.config, len(runner.images), epoch)
        started = time.time()
        totals = np.zeros(2)
        bar = tqdm(range(start_batch, steps_per_epoch), initial=start_batch, total=steps_per_epoch,
                   desc=f"{runner.model_name} epoch {epoch + 1}/{config.epoch}",
                   unit="batch" if d_steps == 1 else "step",
                   dynamic_ncols=True, mininterval=1.0)

        def batch_of(index, labels):
            """The epoch's index-th real batch in [0, 1], and with labels its labels with those G draws."""
            rows = order[index * batch_size:(index + 1) * batch_size]
            images = runner.images[rows].astype(np.float32) / 255.0
            return images, None if labels is None else (runner.labels[rows], labels)

        conditional = runner.config.conditional
        for idx in bar:
            log_now = (step + 1) % config.log_every == 0
            lr_scale = learning_rate_scale(step, config.epoch * steps_per_epoch, runner.config.lr_decay_start)
            for extra in range(d_steps - 1):  # --d_steps: D's updates before the step's own, each on its batch
                z, fake_labels = streams.d_step_inputs(runner.config, step, extra)
                batch, labels = batch_of(idx * d_steps + extra, fake_labels if conditional else None)
                runner.run_d_step(batch, z, lr_scale, labels)
            # the real batch's own labels, and for a conditional model those G draws from their stream
            batch, labels = batch_of(idx * d_steps + d_steps - 1,
                                     streams.batch_labels(runner.config, step) if conditional else None)
            losses = runner.run_train_step(batch, streams.batch_z(runner.config, step), lr_scale, labels)
            step += 1
            self.steps_this_run += 1
            if not all(np.isfinite(v) for v in losses.values()):
                raise NonFinite(f"non-finite loss at step {step} (d_loss {losses['d_loss']}, "
                                f"g_loss {losses['g_loss']})")
            totals += (losses["d_loss"], losses["g_loss"])
            if log_now:
                self.log_step(step, losses, bar)
            if idx + 1 < steps_per_epoch and (self.stopping() or step % config.save_every == 0):
                self.checkpoints.save(step)
            if self.stopping():
                break
        bar.close()
        if step == (epoch + 1) * steps_per_epoch:
            done = steps_per_epoch - start_batch
            self.finish_epoch(epoch + 1, step, totals / done, time.time() - started)
        return step

    def log_step(self, step, losses, bar):
        """Losses and gammas to steps.csv, TensorBoard and the progress bar."""
        gammas = self.runner.gamma_values()
        self.writer.add_summary(scalar_summary({**losses, **gammas}), step)
        self.runlog.add_step(dict(step=step, d_loss=losses["d_loss"], g_loss=losses["g_loss"], **gammas))
        bar.set_postfix(d_loss=f"{losses['d_loss']:.3f}", g_loss=f"{losses['g_loss']:.3f}",
                        **{k: f"{v:.4f}" for k, v in gammas.items()})

    def finish_epoch(self, epoch, step, mean_losses, seconds):
        """The epoch's row, evaluation, images and plot, then its checkpoint.

        Outputs first, checkpoint last: a run killed in between redoes them on resume.
        """
        runner = self.runner
        row = dict(step=step, epoch=epoch, d_loss=mean_losses[0], g_loss=mean_losses[1], seconds=round(seconds, 2),
                   machine=self.machine, **runner.gamma_values())
        if self.evaluate_epoch is not None and epoch % self.config.eval_every == 0:
            row.update(self.evaluate_and_keep_best(step))
        self.runlog.add_epoch(row)
        visualize_results(runner, epoch, self.result_dir, self.writer, self.config.weights)
        plot_losses(self.runlog, os.path.join(self.result_dir, "losses.png"), runner.model_dir)
        self.checkpoints.save(step)

    def evaluate_and_keep_best(self, step):
        """The epoch's FCD and classifier score of both weights, to TensorBoard; saves to best/ on a new lowest
        FCD of the --weights chosen."""
        scores = self.evaluate_epoch(self.runner)
        self.writer.add_summary(scalar_summary(scores), step)
        key = "fcd" if self.config.weights == "raw" else "fcd_ema"
        earlier = [float(r[key]) for r in self.runlog.epochs() if r.get(key)]
        if not earlier or scores[key] < min(earlier):
            best = self.checkpoints.save(step, best=True)
            self.log(f"FCD {scores[key]:.3f} ({self.config.weights} weights) is the lowest so far: saved in {best}")
        return scores


def visualize_results(runner, epoch, result_dir, writer=None, weights="raw"):
    """The epoch's grid from the fixed z (8x8, or a row per class), the GIF over epochs, and the TensorBoard image."""
    z, labels, columns = streams.grid_inputs(runner.config)
    images = runner.generate_from(z, weights, labels)
    save_grid(images, os.path.join(result_dir, f"epoch_{epoch:03d}.png"), columns)
    save_gif(sorted(glob.glob(os.path.join(result_dir, "epoch_*.png"))), os.path.join(result_dir, "epochs.gif"))
    if writer is not None:
        writer.add_summary(image_summary("samples", image_grid(images, columns)), epoch * runner.steps_per_epoch)


def plot_losses(runlog, path, title):
    """losses.png from steps.csv."""
    rows = runlog.steps()
    if rows:
        steps = [int(r["step"]) for r in rows]
        plot_curves({name: (steps, [float(r[name]) for r in rows]) for name in ("d_loss", "g_loss")}, path,
                    f"{title} losses")


def scalar_summary(values):
    """A TensorBoard summary of named floats."""
    return tf1.Summary(value=[tf1.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])


def image_summary(tag, grid):
    """A TensorBoard summary of one uint8 greyscale picture [H, W]."""
    import imageio.v2 as imageio
    png = io.BytesIO()
    imageio.imwrite(png, grid, format="png")
    image = tf1.Summary.Image(height=grid.shape[0], width=grid.shape[1], colorspace=1,
                              encoded_image_string=png.getvalue())
    return tf1.Summary(value=[tf1.Summary.Value(tag=tag, image=image)])


def acquire_lock(folder):
    """Lock folder/.lock for this process; the kernel releases it when the process ends, however it ends."""
    handle = open(os.path.join(folder, ".lock"), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        handle.close()
        raise UserError(f"another training process (pid {owner}) is using {folder}; "
                        f"wait for it to finish or stop it") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
