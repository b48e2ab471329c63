"""The vanilla GAN of the framework the article builds on (infoGAN's MNIST nets), with its training loop."""
import csv
import fcntl
import glob
import os
import signal
import time

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2
from tqdm import tqdm

from ops import (ATTENTION_MAPS, BN_BATCH_STATISTICS, BN_MOVING_AVERAGES, bn, conv2d, deconv2d, linear, lrelu,
                 update_moving_average)
from utils import UserError, image_grid, plot_curves, save_gif, save_grid, to_uint8

tf1 = tf.compat.v1

IMAGE_SHAPE = (28, 28, 1)
GRID_SIZE = 64  # 8x8 sample grid
SAMPLE_CHUNK = 1000  # images per session.run when sampling
# Independent random streams derived from the seed.
STREAM_SHUFFLE, STREAM_Z, STREAM_FIXED_Z = 1, 2, 3
TRAIN_LOG_FIELDS = ["step", "epoch", "d_loss", "g_loss", "gamma_g", "gamma_d", "seconds", "fcd", "classifier_score"]
PRECISION_SUFFIX = {"float32": "", "bfloat16": "_bf16"}  # of model_dir: precisions never share a run
STEP_LOG_FIELDS = ["step", "d_loss", "g_loss", "gamma_g", "gamma_d"]


def sigmoid_ce(logits, target):
    """Mean sigmoid cross-entropy of logits against a constant label."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=logits, labels=tf.fill(tf.shape(logits), target)))


class Interrupted(Exception):
    """Training stopped by a signal after saving; carries the exit status."""

    def __init__(self, exit_status, step):
        super().__init__(f"stopped at step {step}")
        self.exit_status, self.step = exit_status, step


class CorruptCheckpoint(Exception):
    """A checkpoint whose files are missing or unreadable."""


class NonFinite(Exception):
    """A loss or weight became NaN or inf; nothing was saved after the last finite checkpoint."""


class GAN:
    """Vanilla GAN.

    G: z(62)-FC1024_BR-FC7x7x128_BR-(64)4dc2s_BR-(1)4dc2s_S
    D: (64)4c2s_L-(128)4c2s_BL-FC1024_BL-FC1
    """
    model_name = "GAN"

    def __init__(self, sess, args, images=None):
        self.sess = sess
        self.args = args
        self.dataset_name = args.dataset
        self.batch_size = args.batch_size
        self.z_dim = args.z_dim
        self.epoch = args.epoch
        self.seed = args.seed
        # --train_step literal: the article's two session.run calls, maximum-lrelu and moments batch norm.
        self.fused_step = self.fused_kernels = args.train_step == "fused"
        self.compute_dtype = tf.dtypes.as_dtype(args.precision)  # of the nets' arithmetic; weights stay float32
        self.data_X = images  # uint8 [N, 28, 28, 1]; None when only sampling
        if images is not None:
            if self.batch_size > len(images):
                raise UserError(f"--batch_size {self.batch_size} is larger than the dataset ({len(images)} images)")
            self.num_batches = len(images) // self.batch_size  # the last incomplete batch is dropped

    # ------------------------------------------------------------ nets

    def feature_block(self, net, is_training, reuse, groups=1):
        """The 7x7x128 feature map both nets pass through; plain GAN leaves it alone."""
        return net

    def generator(self, z, is_training=True, reuse=False):
        """z [B, z_dim] -> images [B, 28, 28, 1] in [0, 1]."""
        fused = self.fused_kernels
        with tf1.variable_scope("generator", reuse=reuse):
            z = tf.cast(z, self.compute_dtype)
            net = tf.nn.relu(bn(linear(z, 1024, scope="g_fc1"), is_training, scope="g_bn1", fused=fused))
            net = tf.nn.relu(bn(linear(net, 128 * 7 * 7, scope="g_fc2"), is_training, scope="g_bn2", fused=fused))
            net = tf.reshape(net, [-1, 7, 7, 128])  # [B, 7, 7, 128]
            net = self.feature_block(net, is_training, reuse)
            net = tf.nn.relu(bn(deconv2d(net, [None, 14, 14, 64], 4, 4, 2, 2, name="g_dc3"),
                                is_training, scope="g_bn3", fused=fused))
            return tf.cast(tf.nn.sigmoid(deconv2d(net, [None, 28, 28, 1], 4, 4, 2, 2, name="g_dc4")), tf.float32)

    def discriminator(self, x, is_training=True, reuse=False, groups=1):
        """images [B, 28, 28, 1] -> (probability, logit) of being real, each [B, 1].

        groups=2 gives the two halves of the batch their own batch statistics: D(real) and D(fake) as one pass.
        """
        fused = self.fused_kernels
        with tf1.variable_scope("discriminator", reuse=reuse):
            x = tf.cast(x, self.compute_dtype)
            net = lrelu(conv2d(x, 64, 4, 4, 2, 2, name="d_conv1"), fused=fused)
            net = lrelu(bn(conv2d(net, 128, 4, 4, 2, 2, name="d_conv2"), is_training, scope="d_bn2", fused=fused,
                           groups=groups), fused=fused)
            net = self.feature_block(net, is_training, reuse, groups)
            net = tf.reshape(net, [-1, 7 * 7 * 128])  # [B, 6272]
            net = lrelu(bn(linear(net, 1024, scope="d_fc3"), is_training, scope="d_bn3", fused=fused,
                           groups=groups), fused=fused)
            out_logit = tf.cast(linear(net, 1, scope="d_fc4"), tf.float32)  # the losses are float32
            return tf.nn.sigmoid(out_logit), out_logit

    # ------------------------------------------------------------ graph

    def build_model(self):
        """Losses, optimisers, sampler, summaries and saver."""
        args = self.args
        tf1.set_random_seed(self.seed)
        self.inputs = tf1.placeholder(tf.float32, [None, *IMAGE_SHAPE], name="real_images")
        self.z = tf1.placeholder(tf.float32, [None, self.z_dim], name="z")

        first_bn = len(tf1.get_collection(BN_MOVING_AVERAGES))
        G = self.generator(self.z, is_training=True, reuse=False)
        g_bn_pairs = list(zip(tf1.get_collection(BN_MOVING_AVERAGES)[first_bn:],
                              tf1.get_collection(BN_BATCH_STATISTICS)[first_bn:]))
        if self.fused_step:
            # One D pass over [real; fake], each half with its own batch statistics: bigger matmuls, same maths.
            _, D_logits = self.discriminator(tf.concat([self.inputs, G], 0), is_training=True, reuse=False, groups=2)
            D_real_logits, D_fake_logits = tf.split(D_logits, 2)
        else:
            _, D_real_logits = self.discriminator(self.inputs, is_training=True, reuse=False)
            _, D_fake_logits = self.discriminator(G, is_training=True, reuse=True)

        self.d_loss_real = sigmoid_ce(D_real_logits, 1.0)
        self.d_loss_fake = sigmoid_ce(D_fake_logits, 0.0)
        self.d_loss = self.d_loss_real + self.d_loss_fake
        self.g_loss = sigmoid_ce(D_fake_logits, 1.0)  # non-saturating

        # Split by top-level scope: D's attention block has a variable called g_conv.
        self.d_vars = tf1.trainable_variables(scope="discriminator/")
        self.g_vars = tf1.trainable_variables(scope="generator/")
        self.gammas = {net: v for net in ("generator", "discriminator")
                       for v in tf1.trainable_variables(scope=net + "/") if v.op.name.endswith("attention/gamma")}

        self.global_step = tf1.train.get_or_create_global_step()
        d_optimizer = tf1.train.AdamOptimizer(args.learning_rate, beta1=args.beta1)
        g_optimizer = tf1.train.AdamOptimizer(args.learning_rate * args.g_lr_ratio, beta1=args.beta1)
        if self.fused_step:
            self.train_op, self.g_loss_after_d_step = self.build_fused_step(G, g_bn_pairs, d_optimizer,
                                                                            g_optimizer)
        else:  # the article's step: session.run(d_optim), then session.run(g_optim), which recomputes G
            self.d_optim = d_optimizer.minimize(self.d_loss, var_list=self.d_vars)
            self.g_optim = g_optimizer.minimize(self.g_loss, var_list=self.g_vars, global_step=self.global_step)

        # Inference-mode nets: G samples; D and both attention maps are there to be looked at.
        first_map = len(tf1.get_collection(ATTENTION_MAPS))
        self.fake_images = self.generator(self.z, is_training=False, reuse=True)
        self.discriminator(self.inputs, is_training=False, reuse=True)
        maps = tf1.get_collection(ATTENTION_MAPS)[first_map:]
        self.attention_maps = dict(zip(("generator", "discriminator"), maps))  # [B, 49, 49] each; {} for GAN

        self.grid_ph = tf1.placeholder(tf.uint8, [1, None, None, 1], name="sample_grid")
        self.grid_sum = tf1.summary.image("samples", self.grid_ph)

        self.all_finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in tf1.trainable_variables()])
        self.saver = tf1.train.Saver(max_to_keep=3, save_relative_paths=True)  # the folder can move
        self.best_saver = tf1.train.Saver(max_to_keep=1, save_relative_paths=True)

    def build_fused_step(self, G, g_bn_pairs, d_optimizer, g_optimizer):
        """The literal D step then G step as one session.run, with G's forward pass computed once.

        Returns (train_op, g_loss). Its variables are named as the literal step's: checkpoints fit both.
        """
        d_step = d_optimizer.apply_gradients(d_optimizer.compute_gradients(self.d_loss, var_list=self.d_vars))
        with tf.control_dependencies([d_step]):
            # Built under the dependency, this D reads its weights after the D step, as the literal G step does.
            _, D_fake_logits = self.discriminator(G, is_training=True, reuse=True)
        g_loss = sigmoid_ce(D_fake_logits, 1.0)
        g_step = g_optimizer.apply_gradients(g_optimizer.compute_gradients(g_loss, var_list=self.g_vars),
                                             global_step=self.global_step)
        with tf.control_dependencies([g_step]):
            # The literal G step runs G's forward pass again, which moves G's batch-norm averages a second time.
            again = [update_moving_average(average, statistic) for average, statistic in g_bn_pairs]
        return tf.group(g_step, *again), g_loss

    # ------------------------------------------------------------ paths and randomness

    @property
    def model_dir(self):
        """The framework's {gan_type}_{dataset}_{batch_size}_{z_dim}, plus _seed{N} off the default seed, _bf16."""
        name = f"{self.model_name}_{self.dataset_name}_{self.batch_size}_{self.z_dim}"
        name = name if self.seed == 0 else f"{name}_seed{self.seed}"
        return name + PRECISION_SUFFIX[self.args.precision]

    def out_dir(self, kind):
        """checkpoint/, results/ or logs/ folder of this model_dir, created on demand."""
        root = {"checkpoint": self.args.checkpoint_dir, "result": self.args.result_dir, "log": self.args.log_dir}[kind]
        path = os.path.join(root, self.model_dir)
        os.makedirs(path, exist_ok=True)
        return path

    def batch_z(self, step):
        """The z of a training step: the same for a given seed and step, whether or not the run resumed."""
        rng = np.random.default_rng([self.seed, STREAM_Z, step])
        return rng.uniform(-1, 1, (self.batch_size, self.z_dim)).astype(np.float32)

    def epoch_order(self, epoch):
        """The data order of an epoch, reshuffled each epoch from the seed."""
        return np.random.default_rng([self.seed, STREAM_SHUFFLE, epoch]).permutation(len(self.data_X))

    def fixed_z(self):
        """The z of the per-epoch grids: identical across epochs and across GAN and SAGAN at one seed."""
        rng = np.random.default_rng([self.seed, STREAM_FIXED_Z])
        return rng.uniform(-1, 1, (GRID_SIZE, self.z_dim)).astype(np.float32)

    # ------------------------------------------------------------ training

    def gamma_values(self):
        """{'gamma_g': float, 'gamma_d': float} for the attention blocks there are."""
        values = self.sess.run({net: v[0] for net, v in self.gammas.items()})
        return {"gamma_" + net[0]: float(value) for net, value in values.items()}

    def run_train_step(self, batch, z, all_losses=False):
        """One D step then one G step on a batch; returns {'d_loss', 'g_loss'} (and D's two terms if all_losses).

        --train_step literal runs them as the article does, two session.run calls with G recomputed;
        fused runs the same updates in one call.
        """
        d_losses = {"d_loss": self.d_loss}
        if all_losses:
            d_losses.update(d_loss_real=self.d_loss_real, d_loss_fake=self.d_loss_fake)
        feed = {self.inputs: batch, self.z: z}
        if not self.fused_step:
            d_out = self.sess.run([self.d_optim, d_losses], feed)[1]
            g_out = self.sess.run([self.g_optim, {"g_loss": self.g_loss}], {self.z: z})[1]
            return {**d_out, **g_out}
        return self.sess.run([self.train_op, {**d_losses, "g_loss": self.g_loss_after_d_step}], feed)[1]

    def train(self, stop_after_steps=None, log=print, evaluate_epoch=None):
        """Train to the last epoch, resuming from the latest checkpoint; Ctrl-C or SIGTERM saves and stops.

        evaluate_epoch(model) -> {'fcd', 'classifier_score'} runs every --eval_every epochs when given;
        the checkpoint of the lowest FCD so far is kept in checkpoint/<model_dir>/best/.
        """
        folder = self.out_dir("checkpoint")
        lock = acquire_lock(folder)
        for partial in glob.glob(os.path.join(folder, "*.tempstate*")):
            os.remove(partial)  # left by a process killed while saving; we hold the lock, nobody writes it
        try:
            return self._train(stop_after_steps, log, evaluate_epoch)
        finally:
            lock.close()

    def _train(self, stop_after_steps, log, evaluate_epoch):
        args = self.args
        self.sess.run(tf1.global_variables_initializer())
        step = self.load(log)
        if step is None:
            step = 0
            log(f"{self.model_name}: starting from scratch in {self.out_dir('checkpoint')}")
        else:
            log(f"{self.model_name}: resuming from step {step}")
        result_dir = self.out_dir("result")
        train_log = os.path.join(result_dir, "train_log.csv")
        step_log = os.path.join(result_dir, "steps.csv")
        for path, fields in ((train_log, TRAIN_LOG_FIELDS), (step_log, STEP_LOG_FIELDS)):
            truncate_csv(path, fields, step)  # rows past the checkpoint are redone
        writer = tf1.summary.FileWriter(self.out_dir("log"), self.sess.graph if step == 0 else None)

        stop = {"signal": None}

        def request_stop(signum, _frame):
            if stop["signal"] is not None:  # a second signal: stop at once
                raise KeyboardInterrupt
            stop["signal"] = signum
        old_handlers = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}

        start_epoch, start_batch = divmod(step, self.num_batches)
        steps_this_run = 0
        try:
            for epoch in range(start_epoch, self.epoch):
                order = self.epoch_order(epoch)
                started = time.time()
                totals = np.zeros(2)
                bar = tqdm(range(start_batch, self.num_batches), initial=start_batch, total=self.num_batches,
                           desc=f"{self.model_name} epoch {epoch + 1}/{self.epoch}", unit="batch",
                           dynamic_ncols=True, mininterval=1.0)
                for idx in bar:
                    batch = self.data_X[order[idx * self.batch_size:(idx + 1) * self.batch_size]]
                    batch = batch.astype(np.float32) / 255.0
                    z = self.batch_z(step)
                    log_now = (step + 1) % args.log_every == 0
                    losses = self.run_train_step(batch, z, log_now)
                    step += 1
                    steps_this_run += 1
                    if not all(np.isfinite(v) for v in losses.values()):
                        raise NonFinite(f"non-finite loss at step {step} (d_loss {losses['d_loss']}, "
                                        f"g_loss {losses['g_loss']})")
                    totals += (losses["d_loss"], losses["g_loss"])
                    if log_now:
                        gammas = self.gamma_values()
                        writer.add_summary(scalar_summary({**losses, **gammas}), step)
                        append_csv(step_log, STEP_LOG_FIELDS, dict(step=step, d_loss=losses["d_loss"],
                                                                   g_loss=losses["g_loss"], **gammas))
                        bar.set_postfix(d_loss=f"{losses['d_loss']:.3f}", g_loss=f"{losses['g_loss']:.3f}",
                                        **{k: f"{v:.4f}" for k, v in gammas.items()})
                    stopping = stop["signal"] is not None or steps_this_run == stop_after_steps
                    if idx + 1 < self.num_batches and (stopping or step % args.save_every == 0):
                        self.save(step)
                    if stopping:
                        break
                bar.close()
                if step == (epoch + 1) * self.num_batches:
                    # Outputs first, checkpoint last: a run killed in between redoes them on resume.
                    done = self.num_batches - start_batch
                    row = dict(step=step, epoch=epoch + 1, d_loss=totals[0] / done, g_loss=totals[1] / done,
                               seconds=round(time.time() - started, 2), **self.gamma_values())
                    if evaluate_epoch is not None and (epoch + 1) % args.eval_every == 0:
                        row.update(self.evaluate_and_keep_best(evaluate_epoch, step, train_log, writer, log))
                    append_csv(train_log, TRAIN_LOG_FIELDS, row)
                    self.visualize_results(epoch + 1, writer)
                    self.plot_losses()
                    self.save(step)
                if stop["signal"] is not None or steps_this_run == stop_after_steps:
                    break
                start_batch = 0
        finally:
            for s, handler in old_handlers.items():
                signal.signal(s, handler)
            writer.close()
        if stop["signal"] is not None:
            log(f"{self.model_name}: stopped by signal {stop['signal']} at step {step}; "
                f"checkpoint saved in {self.out_dir('checkpoint')}; run the same command to resume")
            raise Interrupted(128 + stop["signal"], step)
        log(f"{self.model_name}: at step {step}, epoch {min(step // self.num_batches, self.epoch)}/{self.epoch}; "
            f"results in {result_dir}")
        return step

    def evaluate_and_keep_best(self, evaluate_epoch, step, train_log, writer, log):
        """The epoch's FCD and classifier score, to TensorBoard; saves to best/ on a new lowest FCD."""
        scores = evaluate_epoch(self)
        writer.add_summary(scalar_summary(scores), step)
        earlier = [float(r["fcd"]) for r in read_csv(train_log) if r.get("fcd")]
        if not earlier or scores["fcd"] < min(earlier):
            best = os.path.join(self.out_dir("checkpoint"), "best")
            self.best_saver.save(self.sess, os.path.join(best, self.model_name + ".model"), global_step=step)
            log(f"FCD {scores['fcd']:.3f} is the lowest so far: saved in {best}")
        return scores

    # ------------------------------------------------------------ outputs

    def sample_z(self, num_samples):
        """The z of --phase sample, eval and attention: drawn from the seed, the same for GAN and SAGAN."""
        rng = np.random.default_rng([self.seed, STREAM_FIXED_Z, num_samples])
        return rng.uniform(-1, 1, (num_samples, self.z_dim)).astype(np.float32)

    def generate(self, num_samples):
        """num_samples generated images as uint8 [N, 28, 28, 1], from sample_z."""
        z = self.sample_z(num_samples)
        return np.concatenate([to_uint8(self.sess.run(self.fake_images, {self.z: z[s:s + SAMPLE_CHUNK]}))
                               for s in range(0, num_samples, SAMPLE_CHUNK)])

    def visualize_results(self, epoch, writer=None):
        """The epoch's 8x8 grid from the fixed z, the GIF over epochs, and the TensorBoard image."""
        result_dir = self.out_dir("result")
        images = to_uint8(self.sess.run(self.fake_images, {self.z: self.fixed_z()}))
        path = os.path.join(result_dir, f"epoch_{epoch:03d}.png")
        save_grid(images, path)
        save_gif(sorted(glob.glob(os.path.join(result_dir, "epoch_*.png"))),
                 os.path.join(result_dir, "epochs.gif"))
        if writer is not None:
            grid = image_grid(images)[np.newaxis, :, :, np.newaxis]
            writer.add_summary(self.sess.run(self.grid_sum, {self.grid_ph: grid}), epoch * self.num_batches)

    def plot_losses(self):
        """losses.png from steps.csv."""
        result_dir = self.out_dir("result")
        rows = read_csv(os.path.join(result_dir, "steps.csv"))
        if rows:
            steps = [int(r["step"]) for r in rows]
            plot_curves({name: (steps, [float(r[name]) for r in rows]) for name in ("d_loss", "g_loss")},
                        os.path.join(result_dir, "losses.png"), f"{self.model_dir} losses")

    def restore_trained(self, log=print):
        """Restore the latest checkpoint for sampling or measuring; a clear error when there is none."""
        step = self.load(log)
        if step is None:
            raise UserError(f"no checkpoint in {os.path.join(self.args.checkpoint_dir, self.model_dir)}: "
                            f"train first with --phase train")
        return step

    def sample(self, num_samples, log=print):
        """Restore the latest checkpoint and write samples.npy and samples.png."""
        self.restore_trained(log)
        images = self.generate(num_samples)
        result_dir = self.out_dir("result")
        np.save(os.path.join(result_dir, "samples.npy"), images)
        save_grid(images[:GRID_SIZE], os.path.join(result_dir, "samples.png"))
        log(f"wrote {num_samples} samples to {os.path.join(result_dir, 'samples.npy')}")
        return images

    # ------------------------------------------------------------ checkpoints

    def save(self, step):
        """Write a checkpoint of every variable, optimiser state included, if every weight is finite."""
        if not self.sess.run(self.all_finite):
            raise NonFinite(f"non-finite weight at step {step}")
        folder = self.out_dir("checkpoint")
        try:
            self.saver.save(self.sess, os.path.join(folder, self.model_name + ".model"), global_step=step)
        except (OSError, tf.errors.OpError) as e:
            reason = " ".join(str(getattr(e, "message", e)).split())
            raise UserError(f"cannot write a checkpoint in {folder} ({reason}); free some space or fix its "
                            f"permissions, then run again: the previous checkpoint is intact") from None

    def load(self, log=print):
        """Restore the newest complete checkpoint; returns its step, or None if there is none.

        A newest checkpoint that is truncated or lacks a file is skipped for the one before it.
        """
        checkpoint_dir = os.path.join(self.args.checkpoint_dir, self.model_dir)
        state = tf1.train.get_checkpoint_state(checkpoint_dir) if os.path.isdir(checkpoint_dir) else None
        if state is None or not state.model_checkpoint_path:
            return None
        candidates = list(dict.fromkeys(reversed([*state.all_model_checkpoint_paths,
                                                  state.model_checkpoint_path])))
        for path in candidates:
            try:
                self.check_compatible(path)
                self.saver.restore(self.sess, path)
            except CorruptCheckpoint as e:
                log(f"warning: {e}; trying the previous checkpoint")
                continue
            except (tf.errors.OpError, ValueError) as e:
                log(f"warning: checkpoint {path} cannot be restored ({type(e).__name__}); "
                    f"trying the previous checkpoint")
                continue
            step = int(self.sess.run(self.global_step))
            # Let max_to_keep go on pruning the checkpoints of earlier runs.
            self.saver.recover_last_checkpoints([p for p in state.all_model_checkpoint_paths if p != path] + [path])
            log(f"restored {path} (step {step})")
            return step
        raise UserError(f"no complete checkpoint in {checkpoint_dir} (tried {len(candidates)}); nothing was "
                        f"changed: move the folder away to start afresh")

    def check_compatible(self, path):
        """Raise a UserError when the checkpoint's variables are not this model's."""
        try:
            stored = dict(tf1.train.list_variables(path))
        except Exception as e:
            raise CorruptCheckpoint(f"checkpoint {path} cannot be read ({type(e).__name__})") from None
        ours = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
        missing = sorted(set(ours) - set(stored))
        mismatched = sorted(n for n in set(ours) & set(stored) if list(stored[n]) != ours[n])
        if missing or mismatched or set(stored) - set(ours):
            detail = (f"missing {missing[0]}" if missing else
                      f"{mismatched[0]} has shape {stored[mismatched[0]]}, expected {ours[mismatched[0]]}"
                      if mismatched else f"it has extra variable {sorted(set(stored) - set(ours))[0]}")
            raise UserError(f"checkpoint {path} was written by another model ({detail}); "
                            f"check --gan_type and --z_dim, or use another --checkpoint_dir")


def session_config(args):
    """Session options for the chosen --train_step."""
    config = tf1.ConfigProto()
    if args.train_step == "fused":
        # Grappler's remapper fuses d_conv1's conv, bias and leaky ReLU although the gradient still reads
        # the bias output; it then logs an error and leaves the graph unchanged, so skip it outright.
        config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return config


def scalar_summary(values):
    """A TensorBoard summary of named floats."""
    return tf1.Summary(value=[tf1.Summary.Value(tag=k, simple_value=float(v)) for k, v in values.items()])


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
    """Drop rows written after step (by a run that died before its next checkpoint)."""
    rows = read_csv(path)
    kept = [r for r in rows if int(r["step"]) <= step]
    if len(kept) != len(rows):
        tmp = path + ".tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fields)
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, path)
