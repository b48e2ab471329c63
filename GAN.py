"""The vanilla GAN of the framework the article builds on (infoGAN's MNIST nets): its nets, and the graphs built
around them: the training graph (losses, optimisers, the step) and the samplers.

The model builds graphs and nothing else: training/runner.Runner owns the session and runs them, and
training/ drives it (the loop, the random streams, checkpoints, every output file). Each extension enters
the nets at net_scope, outside their lines: batch_norm (towers, classes, batch parts) through arg_scope,
variable_getters (spectral norm, bfloat16) as the variable scopes around the nets; build_generator and
build_discriminator cast the nets' input and output and add D's projection term. SAGAN.py chooses its block.
"""
import contextlib

import tensorflow.compat.v1 as tf

import config as run_config
from parallel import replicas
from training.ema import AveragedGenerator
from common.graph import arg_scope, new_entries, then
from training.losses import LOSSES
from training.schedules import SCHEDULES
from ops import ATTENTION_MAPS, ATTENTION_SCALES, ATTENTION_SHARES, BN_BATCH_STATISTICS, BN_MOVING_AVERAGES
from ops import LOCAL_STATISTICS, BatchNorm, bn, conv2d, deconv2d, linear, lrelu
from extensions import conditional, mixed_precision, spectral_norm
from extensions.spectral_norm import SN_U, SN_U_NEXT

IMAGE_SHAPE = (28, 28, 1)


def scale_name(variable):
    """config.scale_field of an attention block's scale variable (<net>/attention/gamma, or sigma), else None."""
    parts = variable.op.name.split("/")
    if parts[1:] not in (["attention", "gamma"], ["attention", "sigma"]):
        return None
    return run_config.scale_field(parts[0], run_config.ATTENTION_SIDES[0])


def attention_blocks(net, built):
    """{(net, side): (beta, scale, share)} of the attention blocks whose entries built holds ({collection: entries},
    as common.graph.new_entries gathers them around a net); side from the map's positions, N = side^2."""
    blocks = zip(*(built[c] for c in (ATTENTION_MAPS, ATTENTION_SCALES, ATTENTION_SHARES)))
    return {(net, int(round(beta.shape[1] ** 0.5))): (beta, scale, share) for beta, scale, share in blocks}


class GAN:
    """Vanilla GAN, the framework's: its architecture strings are config.architecture's."""
    model_name = "GAN"

    def __init__(self, config, placement=replicas.ONE_DEVICE):
        if config.gan_type != self.model_name:
            raise ValueError(f"a {config.gan_type} configuration given to {self.model_name}")
        self.config = config
        self.placement = placement
        self.trains = False  # whether build_model built the training graph (build_sampler builds less)
        # --train_step: the framework's two session.run calls with G recomputed (literal), or one (fused).
        self.step = SCHEDULES[config.train_step]()
        self.compute_dtype = tf.dtypes.as_dtype(config.precision)  # of the nets' arithmetic; weights stay float32
        self.classes = conditional.of(config, run_config.NUM_CLASSES)  # the labels the nets read, if any

    # ------------------------------------------------------------ nets

    def generator(self, z, is_training=True, reuse=False):
        with tf.variable_scope("generator", reuse=reuse):
            net = tf.nn.relu(bn(linear(z, 1024, scope='g_fc1'), is_training=is_training, scope='g_bn1'))
            net = tf.nn.relu(bn(linear(net, 128 * 7 * 7, scope='g_fc2'), is_training=is_training, scope='g_bn2'))
            net = tf.reshape(net, [-1, 7, 7, 128])  # [bs, 6272] -> [bs, 7, 7, 128]
            net = tf.nn.relu(
                bn(deconv2d(net, [None, 14, 14, 64], 4, 4, 2, 2, name='g_dc3'), is_training=is_training,
                   scope='g_bn3'))
            out = tf.nn.sigmoid(deconv2d(net, [None, 28, 28, 1], 4, 4, 2, 2, name='g_dc4'))
        return out

    def discriminator(self, x, is_training=True, reuse=False):
        with tf.variable_scope("discriminator", reuse=reuse):
            net = lrelu(conv2d(x, 64, 4, 4, 2, 2, name='d_conv1'))
            net = lrelu(bn(conv2d(net, 128, 4, 4, 2, 2, name='d_conv2'), is_training=is_training, scope='d_bn2'))
            net = tf.reshape(net, [-1, 7 * 7 * 128])  # [bs, 7, 7, 128] -> [bs, 6272]
            net = lrelu(bn(linear(net, 1024, scope='d_fc3'), is_training=is_training, scope='d_bn3'))
            out_logit = linear(net, 1, scope='d_fc4')
            out = tf.nn.sigmoid(out_logit)
        return out, out_logit, net

    # ------------------------------------------------------------ the nets' seams

    def batch_norm(self, net, tower, labels=None, parts=1):
        """The batch norm of net ('generator' or 'discriminator'): the framework's bn, on a tower with the tower's
        statistics, over parts of the batch apart, or the one self.classes gives (G's, by class)."""
        statistics = tower.statistics if tower else LOCAL_STATISTICS
        return self.classes.batch_norm(net, statistics, labels) or BatchNorm(statistics, parts)

    def variable_getters(self, net):
        """The custom getters of net's variables, innermost first: spectral norm on its weights with
        --spectral_norm (config.sn_nets), then float32 storage with --precision bfloat16."""
        normed = self.config.g_spectral_norm if net == "generator" else self.config.spectral_norm
        return [spectral_norm.normed_weights if normed else None,
                mixed_precision.float32_storage if self.compute_dtype != tf.float32 else None]

    @contextlib.contextmanager
    def net_scope(self, net, tower=None, labels=None, parts=1, custom_getter=None):
        """Where every extension enters net ('generator' or 'discriminator'), around the lines of the net: its bn
        (batch_norm's, through arg_scope) and the custom getters of its variables (custom_getter innermost, then
        variable_getters'), each a variable scope of its own around the net's, as nested scopes compose them."""
        with contextlib.ExitStack() as scopes:
            scopes.enter_context(arg_scope([bn], norm=self.batch_norm(net, tower, labels, parts)))
            for getter in [custom_getter] + self.variable_getters(net):
                if getter is not None:
                    scopes.enter_context(tf.variable_scope(tf.get_variable_scope(), custom_getter=getter,
                                                           auxiliary_name_scope=False))
            yield

    def build_generator(self, z, is_training=True, reuse=False, labels=None, tower=None, custom_getter=None):
        """G in its seams: z [B, z_dim] (and with classes, labels [B]) -> images [B, 28, 28, 1] in [0, 1],
        float32; tower: the one being built, if any."""
        with self.net_scope("generator", tower, labels, custom_getter=custom_getter):
            return tf.cast(self.generator(tf.cast(z, self.compute_dtype), is_training, reuse), tf.float32)

    def build_discriminator(self, x, is_training=True, reuse=False, labels=None, tower=None, batch_parts=1):
        """D in its seams: images [B, 28, 28, 1] (and with classes, labels [B]) -> the logit of being real
        [B, 1], float32.

        batch_parts=2 gives the two halves of the batch their own batch statistics: D(real) and D(fake) as one pass.
        With classes, D is a projection discriminator: the logit gains <embed(y), h> on its FC1024 features.
        """
        with self.net_scope("discriminator", tower, parts=batch_parts):
            _, out_logit, features = self.discriminator(tf.cast(x, self.compute_dtype), is_training, reuse)
            out_logit = tf.cast(out_logit, tf.float32)  # the losses are float32
            return self.classes.logit(out_logit, features, labels, reuse)

    # ------------------------------------------------------------ graph

    def build_model(self):
        """Losses, optimisers, the training step, the averaged G and the samplers (training/checkpoints.of_run
        makes their savers).

        With several devices (self.placement), one tower per device takes its slice of the batch.
        """
        config = self.config
        tf.set_random_seed(config.seed)
        with self.placement.device_scope():
            self._build_model()

    def build_sampler(self, discriminator=False):
        """Only what sampling, measuring and drawing attention run: G and the averaged G in inference mode (and
        D's, with discriminator, for its attention maps), and the global step. No loss, optimiser or training
        step: training/checkpoints.of_run restores exactly these variables, leaving a checkpoint's others unread."""
        tf.set_random_seed(self.config.seed)
        self._build_placeholders()
        self.global_step = tf.train.get_or_create_global_step()
        self._build_inference_nets(reuse=False, discriminator=discriminator)
        self.trains = False

    def _build_placeholders(self):
        config = self.config
        self.inputs = tf.placeholder(tf.float32, [None, *IMAGE_SHAPE], name="real_images")
        self.z = tf.placeholder(tf.float32, [None, config.z_dim], name="z")
        # With classes: the real images' labels, and those G draws (also the samplers' labels); fed only then.
        self.real_labels = tf.placeholder_with_default(tf.zeros([0], tf.int32), [None], name="real_labels")
        self.fake_labels = tf.placeholder_with_default(tf.zeros([0], tf.int32), [None], name="fake_labels")

    def _build_inference_nets(self, reuse, discriminator):
        """G, the averaged G and (with discriminator) D in inference mode: the samplers, and the attention blocks
        there are to look at."""
        config = self.config
        blocks = (ATTENTION_MAPS, ATTENTION_SCALES, ATTENTION_SHARES)
        sample_y = self.classes.labels(self.fake_labels)
        with new_entries(*blocks) as g_blocks:
            self.fake_images = self.build_generator(self.z, is_training=False, reuse=reuse, labels=sample_y)
        with new_entries(*blocks) as d_blocks:
            if discriminator:
                self.build_discriminator(self.inputs, is_training=False, reuse=reuse,
                                         labels=self.classes.labels(self.real_labels))
        # {(net, side): (beta, scale, share)} of each attention block: where it looks, and how much it changes x.
        self.attention_blocks = {**attention_blocks("generator", g_blocks), **attention_blocks("discriminator", d_blocks)}
        # {weights: AveragedGenerator} of the averaged G ("ema") and of each --ema_widths' (ema_sigma<width>)
        self.averages = {weights: AveragedGenerator(self.build_generator, config, self.z, self.global_step, sample_y,
                                                    run_config.weights_width(weights))
                         for weights in config.weights[1:]}
        self.averaged = self.averages["ema"]
        self.averaged_attention_blocks = {weights: attention_blocks("generator", averaged.attention_entries)
                                          for weights, averaged in self.averages.items()}

    def _build_model(self):
        self._build_placeholders()
        passes = self._build_training_passes()
        self._build_losses(passes)
        self._build_step(passes)
        self.trains = True

    def _build_training_passes(self):
        """G's and D's training-mode passes, one per tower (one device: one pass, as the framework builds it), as
        {'towers', 'fakes', 'fake_labels', 'real_logits', 'fake_logits', 'g_pass', 'd_pass'}; g_pass and d_pass hold
        what the first tower's passes added to the collections whose updates run once a step."""
        config = self.config
        self.towers = replicas.towers(self.placement.devices, self.placement.params_device, self.placement.sync_bn)
        towers = self.towers or [None]
        inputs, zs = (replicas.slices(t, len(self.towers)) for t in (self.inputs, self.z))
        real_ys, fake_ys = ([None] * len(zs) if labels is None else replicas.slices(labels, len(self.towers))
                            for labels in (self.classes.labels(self.real_labels), self.classes.labels(self.fake_labels)))
        passes = {"towers": towers, "fakes": [], "fake_labels": fake_ys, "real_logits": [], "fake_logits": []}
        for tower, inputs_part, z_part, real_y, fake_y in zip(towers, inputs, zs, real_ys, fake_ys):
            with tower.scope() if tower else contextlib.nullcontext():  # the first creates the variables
                reuse = bool(passes["fakes"])
                with new_entries(BN_MOVING_AVERAGES, BN_BATCH_STATISTICS, SN_U, SN_U_NEXT) as g_entries:
                    G = self.build_generator(z_part, is_training=True, reuse=reuse, labels=fake_y, tower=tower)
                D_real_logits, D_fake_logits, d_entries = self.step.discriminate(
                    self._training_discriminator(tower), inputs_part, G, real_y, fake_y, reuse)
            if not reuse:
                passes.update(g_pass=g_entries, d_pass=d_entries)
            passes["fakes"].append(G)
            passes["real_logits"].append(D_real_logits)
            passes["fake_logits"].append(D_fake_logits)
        return passes

    def _build_losses(self, passes):
        """The losses of --loss, averaged over the towers; the nets' trainable variables and attention scales."""
        d_losses, self.g_loss_of = LOSSES[self.config.loss]
        d_terms = [d_losses(real, fake) for real, fake in zip(passes["real_logits"], passes["fake_logits"])]
        self.d_loss_real, self.d_loss_fake = (replicas.mean_of([t[i] for t in d_terms]) for i in (0, 1))
        self.d_loss = self.d_loss_real + self.d_loss_fake
        self.g_loss = replicas.mean_of([self.g_loss_of(fake) for fake in passes["fake_logits"]])

        # Split by top-level scope: D's attention block has a variable called g_conv.
        self.d_vars = tf.trainable_variables(scope="discriminator/")
        self.g_vars = tf.trainable_variables(scope="generator/")
        self.attention_scales = {name: v for name, v in ((scale_name(v), v) for v in tf.trainable_variables())
                                 if name is not None}

    def _build_step(self, passes):
        """The optimisers, the samplers, and the training step as --train_step schedules it: D's update, then G's,
        each followed by what moves once a step (spectral norm's u, the schedule's own updates, the averaged G)."""
        config, g_pass, d_pass = self.config, passes["g_pass"], passes["d_pass"]
        self.global_step = tf.train.get_or_create_global_step()
        # --lr_decay_start: the trainer feeds the schedule's factor (config.learning_rate_scale) each step.
        self.lr_scale = tf.placeholder_with_default(1.0, [], name="lr_scale")
        d_optimizer = tf.train.AdamOptimizer(config.d_learning_rate * self.lr_scale, config.beta1, config.beta2)
        g_optimizer = tf.train.AdamOptimizer(config.g_learning_rate * self.lr_scale, config.beta1, config.beta2)

        self._build_inference_nets(reuse=True, discriminator=False)  # D's attention maps: build_sampler's

        def d_update():  # D's step, then spectral norm's u of D from the pass that moves it
            return then(d_optimizer.apply_gradients(self._gradients(d_optimizer, self.d_loss, self.d_vars)),
                        lambda: spectral_norm.u_updates(d_pass))

        def g_after():  # G's u, what the schedule adds, then the averaged G
            ops = spectral_norm.u_updates(g_pass) + self.step.g_pass_updates(g_pass)
            with tf.control_dependencies(ops):  # the averages take this step's weights
                return ops + [op for averaged in self.averages.values() for op in averaged.build_update(self.g_vars)]

        def g_update(g_loss):
            return then(g_optimizer.apply_gradients(self._gradients(g_optimizer, g_loss, self.g_vars),
                                                    global_step=self.global_step), g_after)

        def g_loss_after_d_step():  # G's loss through D again, each tower's D on its own fakes
            losses = []
            for tower, G, fake_y in zip(passes["towers"], passes["fakes"], passes["fake_labels"]):
                with tower.scope() if tower else contextlib.nullcontext():
                    losses.append(self.g_loss_of(self._training_discriminator(tower)(G, fake_y, True, 1)))
            return replicas.mean_of(losses)

        self.step.build(d_update, g_update, self.g_loss, g_loss_after_d_step)

    def count_parameters(self):
        """(G's, D's) trainable parameters, from the two nets alone in a graph of their own: counting them needs
        no optimiser, training step or averaged G."""
        with tf.Graph().as_default():
            tf.set_random_seed(self.config.seed)  # the initialisers are random ops, which determinism wants seeded
            labels = self.classes.labels(tf.placeholder(tf.int32, [None]))
            self.build_generator(tf.placeholder(tf.float32, [None, self.config.z_dim]), is_training=False,
                                 labels=labels)
            self.build_discriminator(tf.placeholder(tf.float32, [None, *IMAGE_SHAPE]), is_training=False,
                                     labels=labels)
            return tuple(sum(v.shape.num_elements() for v in tf.trainable_variables(scope=f"{net}/"))
                         for net in ("generator", "discriminator"))

    def _gradients(self, optimizer, loss, var_list):
        """[(gradient, variable)] of the loss; across towers each tower's part is computed on its device."""
        return optimizer.compute_gradients(loss, var_list=var_list, colocate_gradients_with_ops=bool(self.towers))

    def _training_discriminator(self, tower):
        """D in training mode on tower (None: one device) as the schedules call it: (images, labels, reuse,
        batch_parts) -> logits."""
        def discriminator(images, labels, reuse, batch_parts):
            return self.build_discriminator(images, True, reuse, labels, tower, batch_parts)
        return discriminator
