"""The vanilla GAN of the framework the article builds on (infoGAN's MNIST nets): nets, graph, step, sampling.

The training loop that drives it is trainer.py's; the model only knows how to take one step.
"""
import os

import numpy as np
import tensorflow as tf

import config as run_config
from errors import CorruptCheckpoint, NonFinite, UserError
from interrupts import replaced_atomically
from ops import ATTENTION_MAPS, BN_BATCH_STATISTICS, BN_MOVING_AVERAGES, bn, conv2d, deconv2d, linear, lrelu
from ops import update_moving_average
from utils import save_grid, to_uint8

tf1 = tf.compat.v1

IMAGE_SHAPE = (28, 28, 1)
GRID_SIZE = 64  # 8x8 sample grid
SAMPLE_CHUNK = 1000  # images per session.run when sampling
CHECKPOINTS_KEPT = 3
# Independent random streams derived from the seed.
STREAM_SHUFFLE, STREAM_Z, STREAM_FIXED_Z = 1, 2, 3


def sigmoid_ce(logits, target):
    """Mean sigmoid cross-entropy of logits against a constant label."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=logits, labels=tf.fill(tf.shape(logits), target)))


class GAN:
    """Vanilla GAN.

    G: z(62)-FC1024_BR-FC7x7x128_BR-(64)4dc2s_BR-(1)4dc2s_S
    D: (64)4c2s_L-(128)4c2s_BL-FC1024_BL-FC1
    """
    model_name = "GAN"

    def __init__(self, sess, config, folders=run_config.Folders(), images=None):
        if config.gan_type != self.model_name:
            raise ValueError(f"a {config.gan_type} configuration given to {self.model_name}")
        self.sess = sess
        self.config = config
        self.folders = folders
        # --train_step literal: the article's two session.run calls, with its maximum-lrelu and moments bn.
        self.fused_step = config.train_step == "fused"
        self.literal_ops = config.train_step == "literal"
        self.compute_dtype = tf.dtypes.as_dtype(config.precision)  # of the nets' arithmetic; weights stay float32
        self.data_X = images  # uint8 [N, 28, 28, 1]; None when only sampling
        if images is not None:
            if config.batch_size > len(images):
                raise UserError(f"--batch_size {config.batch_size} is larger than the dataset ({len(images)} images)")
            self.num_batches = len(images) // config.batch_size  # the last incomplete batch is dropped

    # ------------------------------------------------------------ nets

    def attention_slot(self, net, is_training, reuse, batch_parts=1):
        """Where SAGAN puts attention: the 7x7x128 map both nets pass through. Plain GAN leaves it alone."""
        return net

    def generator(self, z, is_training=True, reuse=False):
        """z [B, z_dim] -> images [B, 28, 28, 1] in [0, 1]."""
        literal = self.literal_ops
        with tf1.variable_scope("generator", reuse=reuse):
            z = tf.cast(z, self.compute_dtype)
            net = tf.nn.relu(bn(linear(z, 1024, scope="g_fc1"), is_training, scope="g_bn1", literal_ops=literal))
            net = tf.nn.relu(bn(linear(net, 128 * 7 * 7, scope="g_fc2"), is_training, scope="g_bn2",
                                literal_ops=literal))
            net = tf.reshape(net, [-1, 7, 7, 128])  # [B, 6272] -> [B, 7, 7, 128]
            net = self.attention_slot(net, is_training, reuse)
            net = tf.nn.relu(bn(deconv2d(net, [None, 14, 14, 64], 4, 4, 2, 2, name="g_dc3"),
                                is_training, scope="g_bn3", literal_ops=literal))
            return tf.cast(tf.nn.sigmoid(deconv2d(net, [None, 28, 28, 1], 4, 4, 2, 2, name="g_dc4")), tf.float32)

    def discriminator(self, x, is_training=True, reuse=False, batch_parts=1):
        """images [B, 28, 28, 1] -> (probability, logit) of being real, each [B, 1].

        batch_parts=2 gives the two halves of the batch their own batch statistics: D(real) and D(fake) as one pass.
        """
        literal = self.literal_ops
        with tf1.variable_scope("discriminator", reuse=reuse):
            x = tf.cast(x, self.compute_dtype)
            net = lrelu(conv2d(x, 64, 4, 4, 2, 2, name="d_conv1"), literal_ops=literal)
            net = lrelu(bn(conv2d(net, 128, 4, 4, 2, 2, name="d_conv2"), is_training, scope="d_bn2",
                           literal_ops=literal, batch_parts=batch_parts), literal_ops=literal)
            net = self.attention_slot(net, is_training, reuse, batch_parts)
            net = tf.reshape(net, [-1, 7 * 7 * 128])  # [B, 7, 7, 128] -> [B, 6272]
            net = lrelu(bn(linear(net, 1024, scope="d_fc3"), is_training, scope="d_bn3", literal_ops=literal,
                           batch_parts=batch_parts), literal_ops=literal)
            out_logit = tf.cast(linear(net, 1, scope="d_fc4"), tf.float32)  # the losses are float32
            return tf.nn.sigmoid(out_logit), out_logit

    # ------------------------------------------------------------ graph

    def build_model(self):
        """Losses, optimisers, the training step, the sampler and the savers."""
        config = self.config
        tf1.set_random_seed(config.seed)
        self.inputs = tf1.placeholder(tf.float32, [None, *IMAGE_SHAPE], name="real_images")
        self.z = tf1.placeholder(tf.float32, [None, config.z_dim], name="z")

        first_bn = len(tf1.get_collection(BN_MOVING_AVERAGES))
        G = self.generator(self.z, is_training=True, reuse=False)
        g_bn_pairs = list(zip(tf1.get_collection(BN_MOVING_AVERAGES)[first_bn:],
                              tf1.get_collection(BN_BATCH_STATISTICS)[first_bn:]))
        if self.fused_step:
            # One D pass over [real; fake], each half with its own batch statistics: bigger matmuls, same maths.
            _, D_logits = self.discriminator(tf.concat([self.inputs, G], 0), is_training=True, reuse=False,
                                             batch_parts=2)
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
        d_optimizer = tf1.train.AdamOptimizer(config.learning_rate, beta1=config.beta1)
        g_optimizer = tf1.train.AdamOptimizer(config.learning_rate * config.g_lr_ratio, beta1=config.beta1)
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

        self.all_finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in tf1.trainable_variables()])
        self.saver = tf1.train.Saver(max_to_keep=CHECKPOINTS_KEPT, save_relative_paths=True)  # the folder can move
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

    # ------------------------------------------------------------ training step

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

    def gamma_values(self):
        """{'gamma_g': float, 'gamma_d': float} for the attention blocks there are."""
        values = self.sess.run({net: v[0] for net, v in self.gammas.items()})
        return {"gamma_" + net[0]: float(value) for net, value in values.items()}

    def train(self, train_config, log=print, evaluate_epoch=None):
        """Train to the last epoch with trainer.train, resuming from the latest checkpoint."""
        import trainer
        return trainer.train(self, train_config, log, evaluate_epoch)

    # ------------------------------------------------------------ random streams

    def batch_z(self, step):
        """The z of a training step: the same for a given seed and step, whether or not the run resumed."""
        rng = np.random.default_rng([self.config.seed, STREAM_Z, step])
        return rng.uniform(-1, 1, (self.config.batch_size, self.config.z_dim)).astype(np.float32)

    def epoch_order(self, epoch):
        """The data order of an epoch, reshuffled each epoch from the seed."""
        return np.random.default_rng([self.config.seed, STREAM_SHUFFLE, epoch]).permutation(len(self.data_X))

    def fixed_z(self):
        """The z of the per-epoch grids: identical across epochs and across GAN and SAGAN at one seed."""
        rng = np.random.default_rng([self.config.seed, STREAM_FIXED_Z])
        return rng.uniform(-1, 1, (GRID_SIZE, self.config.z_dim)).astype(np.float32)

    def sample_z(self, num_samples):
        """The z of --phase sample, eval and attention: drawn from the seed, the same for GAN and SAGAN."""
        rng = np.random.default_rng([self.config.seed, STREAM_FIXED_Z, num_samples])
        return rng.uniform(-1, 1, (num_samples, self.config.z_dim)).astype(np.float32)

    # ------------------------------------------------------------ sampling

    def generate_from(self, z):
        """Images of G in inference mode for each row of z, as uint8 [N, 28, 28, 1]."""
        return np.concatenate([to_uint8(self.sess.run(self.fake_images, {self.z: z[s:s + SAMPLE_CHUNK]}))
                               for s in range(0, len(z), SAMPLE_CHUNK)])

    def generate(self, num_samples):
        """num_samples generated images as uint8 [N, 28, 28, 1], from sample_z."""
        return self.generate_from(self.sample_z(num_samples))

    def sample(self, num_samples, log=print):
        """Restore the latest checkpoint and write samples.npy and samples.png."""
        self.restore_trained(log)
        images = self.generate(num_samples)
        result_dir = self.out_dir("result")
        path = os.path.join(result_dir, "samples.npy")
        with replaced_atomically(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, images)
        save_grid(images[:GRID_SIZE], os.path.join(result_dir, "samples.png"))
        log(f"wrote {num_samples} samples to {path}")
        return images

    # ------------------------------------------------------------ paths and checkpoints

    @property
    def model_dir(self):
        """This run's folder name under checkpoint/, results/ and logs/ (config.model_dir)."""
        return run_config.model_dir(self.config)

    def out_dir(self, kind):
        """checkpoint/, results/ or logs/ folder of this model_dir, created on demand."""
        path = self.folders.of(kind, self.model_dir)
        os.makedirs(path, exist_ok=True)
        return path

    def save(self, step, saver=None, folder=None):
        """Write a checkpoint of every variable, optimiser state included, if every weight is finite."""
        if not self.sess.run(self.all_finite):
            raise NonFinite(f"non-finite weight at step {step}")
        folder = folder or self.out_dir("checkpoint")
        try:
            (saver or self.saver).save(self.sess, os.path.join(folder, self.model_name + ".model"), global_step=step)
        except (OSError, tf.errors.OpError) as e:
            reason = " ".join(str(getattr(e, "message", e)).split())
            raise UserError(f"cannot write a checkpoint in {folder} ({reason}); free some space or fix its "
                            f"permissions, then run again: the previous checkpoint is intact") from None

    def save_best(self, step):
        """Keep this step's checkpoint in checkpoint/<model_dir>/best/; returns that folder."""
        folder = os.path.join(self.out_dir("checkpoint"), "best")
        self.save(step, self.best_saver, folder)
        return folder

    def load(self, log=print):
        """Restore the newest complete checkpoint; returns its step, or None if there is none.

        A newest checkpoint that is truncated or lacks a file is skipped for the one before it.
        """
        checkpoint_dir = self.folders.of("checkpoint", self.model_dir)
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
            # Let max_to_keep go on pruning the checkpoints of earlier runs, oldest first.
            kept = [p for p in state.all_model_checkpoint_paths if p != path] + [path]
            self.saver.set_last_checkpoints_with_time(
                [(p, os.path.getmtime(p + ".index")) for p in kept if os.path.exists(p + ".index")])
            log(f"restored {path} (step {step})")
            return step
        raise UserError(f"no complete checkpoint in {checkpoint_dir} (tried {len(candidates)}); nothing was "
                        f"changed: move the folder away to start afresh")

    def restore_trained(self, log=print):
        """Restore the latest checkpoint for sampling or measuring; a clear error when there is none."""
        step = self.load(log)
        if step is None:
            raise UserError(f"no checkpoint in {self.folders.of('checkpoint', self.model_dir)}: "
                            f"train first with --phase train")
        return step

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
