"""G's weights averaged over training steps, with batch-norm statistics of their own.

The averaged G is a second copy of G's graph under the scope generator_ema, whose variables are not
trainable: after each G step its weights move towards G's, w_ema <- decay * w_ema + (1 - decay) * w, with a
fixed decay (--ema_decay). --ema_widths keeps more copies beside it, generator_ema_sigma<width>, each EDM2's
power-function average (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of Diffusion
Models", section 3): at G update t its decay is (1 - 1/t)^(gamma + 1), which weighs update s by about s^gamma,
so its window is a fixed fraction of the run however long the run is; width is that profile's standard
deviation relative to t (EDM2's sigma_rel).
Batch norm's moving averages belong to the raw G's weights, so the averaged G gets "standing
statistics" instead: the mean of its own batch statistics over a fixed set of batches of z,
recomputed whenever it is used (config.standing_batches). Spectral norm's u is copied from the raw G and
iterated there too.
"""
import numpy as np
import tensorflow as tf

from ops import ATTENTION_MAPS, ATTENTION_SCALES, ATTENTION_SHARES, BN_BATCH_STATISTICS, BN_MOVING_AVERAGES
from config import NUM_CLASSES, width_weights
from common.graph import new_entries
from extensions import spectral_norm
from extensions.spectral_norm import SN_U, SN_U_NEXT
from training import streams

tf1 = tf.compat.v1

SCOPE = "generator_ema"


def width_scope(width):
    """The scope of the power-function average of width (sigma_rel): generator_ema_sigma0.1, its --weights name
    under G's."""
    return f"generator_{width_weights(width)}"


def power_function_gamma(width):
    """EDM2's exponent gamma of the power-function average of width sigma_rel: the largest real root of
    sigma_rel^2 = (gamma + 1) / ((gamma + 2)^2 (gamma + 3)), a cubic in gamma."""
    t = width ** -2
    return float(max(np.roots([1.0, 7.0, 16.0 - t, 12.0 - t]).real))


def power_function_decay(gamma, t):
    """The decay at update t (1, 2, ...): (1 - 1/t)^(gamma + 1); 0 at t = 1, where the average takes G's weights."""
    return (1.0 - 1.0 / t) ** (gamma + 1.0)


def averaged_variables(scope):
    """A variable getter that gives G's variables (generator/...) the averaged G's instead (scope/...), kept out of
    every optimiser: G's net, built under "generator" as the article writes it, builds the averaged G."""
    def averaged(getter, name, *args, **kwargs):
        kwargs["trainable"] = False
        return getter(scope + name[len("generator"):] if name.startswith("generator/") else name, *args, **kwargs)
    return averaged


class AveragedGenerator:
    """The averaged G's graph: its images, its update op, and its standing statistics."""

    def __init__(self, build_generator, config, z, step=None, labels=None, width=None):
        """Build the averaged G beside G (built already) with build_generator, the model's G in its seams, which
        gives G's variables the custom getter it is given: here variable_getter, which takes the averaged G's
        own in place of G's. config its
        ModelConfig (the decay, the standing statistics' sizes); z the sampler's placeholder, and labels its
        labels' for a conditional model (whose class tables are averaged as every weight is).

        step is the count of G updates taken (the global step), read by the update when the decay changes with
        it: with config.ema_warmup the decay at update t is min(config.ema_decay, (1 + t) / (10 + t)); with width,
        this is the power-function average of that width under width_scope(width), and its decay is
        power_function_decay's.
        """
        self.config, self.z, self.labels, self.width = config, z, labels, width
        self.scope = SCOPE if width is None else width_scope(width)
        self.variable_getter = averaged_variables(self.scope)
        with new_entries(ATTENTION_MAPS, ATTENTION_SCALES, ATTENTION_SHARES) as self.attention_entries:
            self.images = build_generator(z, is_training=False, reuse=False, labels=labels,
                                          custom_getter=self.variable_getter)
        with new_entries(BN_MOVING_AVERAGES, BN_BATCH_STATISTICS, SN_U, SN_U_NEXT) as training_pass:
            build_generator(z, is_training=True, reuse=True, labels=labels,  # batch statistics, for standing ones
                            custom_getter=self.variable_getter)
        averages = training_pass[BN_MOVING_AVERAGES]
        self.batch_statistics = training_pass[BN_BATCH_STATISTICS]
        self.statistic_inputs = [tf1.placeholder(tf.float32, v.shape) for v in averages]
        self.set_statistics = tf.group(*[tf1.assign(v, p) for v, p in zip(averages, self.statistic_inputs)])
        self.iterate_u = tf.group(*spectral_norm.u_updates(training_pass))

        raw = {v.op.name: v for v in tf1.global_variables("generator/")}
        inside = len(self.scope) + 1
        self.pairs = [(raw["generator/" + v.op.name[inside:]], v) for v in tf1.global_variables(self.scope + "/")
                      if "generator/" + v.op.name[inside:] in raw]  # (raw, averaged) of weights and u
        self.decay, self.step = config.ema_decay, step
        self.copy_raw = tf.group(*[tf1.assign(a, w) for w, a in self.pairs])
        self.copy_u = tf.group(*[tf1.assign(a, w) for w, a in self.pairs if w.op.name.endswith("/u")])

    def build_update(self, g_vars):
        """The ops that move each averaged weight towards its weight w among G's g_vars:
        w_ema <- decay * w_ema + (1 - decay) * w."""
        weights = {w.op.name for w in g_vars}
        step = tf.constant(1.0 - self.decay, tf.float32)
        # t, the global step, is read after this update's increment: it counts this update
        if self.width is not None:  # (1 - 1/t)^(gamma + 1) in float64: at t ~ 20,000 it is within 1e-4 of 1
            decay = power_function_decay(power_function_gamma(self.width), tf.cast(self.step, tf.float64))
            step = tf.cast(1.0 - decay, tf.float32)
        elif self.config.ema_warmup:
            t = tf.cast(self.step, tf.float32)
            step = 1.0 - tf.minimum(tf.constant(self.decay, tf.float32), (1.0 + t) / (10.0 + t))
        # w_ema - (1 - decay)(w_ema - w), one in-place kernel per weight: the update reads and writes
        # every averaged weight once, where an assign of the formula makes a temporary per operation.
        return [tf.raw_ops.ResourceApplyGradientDescent(var=a.handle, alpha=step, delta=a.read_value() - w)
                for w, a in self.pairs if w.op.name in weights]

    def refresh(self, sess):
        """Set the averaged G's batch-norm statistics to the mean of its batch statistics over fixed z (and, for
        a conditional model, over every class in turn)."""
        config = self.config
        sess.run(self.copy_u)
        sums = None
        for z in streams.standing_z(config):
            feed = {self.z: z}
            if self.labels is not None:
                feed[self.labels] = np.arange(len(z), dtype=np.int32) % NUM_CLASSES
            values, _ = sess.run([self.batch_statistics, self.iterate_u], feed)
            sums = values if sums is None else [s + v for s, v in zip(sums, values)]
        sess.run(self.set_statistics, dict(zip(self.statistic_inputs, [s / config.standing_batches for s in sums])))
