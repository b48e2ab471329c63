"""--conditional: G's batch norm by class, and D's projection term (the SAGAN paper's class-conditional nets).

As the official SAGAN code's ConditionalBatchNorm(num_classes)(x, labels): the labels are an argument, never
a state of the module.
"""
import tensorflow as tf

from ops import LOCAL_STATISTICS, BatchNorm

tf1 = tf.compat.v1


class ConditionalBatchNorm:
    """bn whose gamma and beta are rows of [num_classes, C] tables (gamma starting at 1, beta at 0), looked up by
    each image's label; the normalisation and its moving averages are shared by the classes."""

    def __init__(self, num_classes, statistics=LOCAL_STATISTICS):
        self.num_classes = num_classes
        self.batch_norm = BatchNorm(statistics)  # the normalisation, without its own gamma and beta

    def __call__(self, x, labels, is_training, scope):
        """x [B, ..., C] normalised as ops.bn normalises it, then scaled and shifted by each image's class's row."""
        with tf1.variable_scope(scope):
            channels = x.get_shape()[-1]
            beta, gamma = tf.zeros([channels]), tf.ones([channels])  # the classes' own come after the normalisation
            normalised = self.batch_norm.normalise(x, is_training, gamma, beta)
            return class_affine(normalised, labels, self.num_classes)

    def of(self, labels):
        """This batch norm for these labels, called as ops.bn is: norm(x, is_training, scope)."""
        def norm(x, is_training, scope):
            return self(x, labels, is_training, scope)
        return norm


def class_affine(x, labels, num_classes):
    """x * gamma[label] + beta[label], the tables under the current scope; x is [B, ..., C]."""
    channels = x.get_shape()[-1]
    gamma = tf1.get_variable("gamma", [num_classes, channels], x.dtype, tf1.ones_initializer())
    beta = tf1.get_variable("beta", [num_classes, channels], x.dtype, tf1.zeros_initializer())
    shape = [-1] + [1] * (len(x.get_shape()) - 2) + [channels]  # [B, 1, 1, C] for maps, [B, C] for vectors
    return x * tf.reshape(tf.gather(gamma, labels), shape) + tf.reshape(tf.gather(beta, labels), shape)


def projection(features, labels, num_classes, scope="d_projection"):
    """The projection discriminator's term <embed(y), h> [B, 1] (Miyato and Koyama 2018), in float32 as D's logit
    is; spectral-normed with the rest of D (its getter's "embedding") as in the official SAGAN code."""
    with tf1.variable_scope(scope):
        embedding = tf1.get_variable("embedding", [num_classes, features.get_shape()[-1]], tf.float32,
                                     tf1.glorot_uniform_initializer())
        chosen = tf.gather(embedding, labels)  # [B, C]
        return tf.reduce_sum(chosen * tf.cast(features, tf.float32), axis=1, keepdims=True)


class Classes:
    """How a model with --conditional uses labels, the one seam where classes enter: G's batch norms by class, D's
    projection term on its features, and the label placeholders the nets read."""

    def __init__(self, num_classes):
        self.num_classes = num_classes

    def labels(self, placeholder):
        """The labels a net reads: the placeholder's."""
        return placeholder

    def batch_norm(self, net, statistics, labels):
        """G's batch norm by class (for net 'generator'); None, the plain one, for D."""
        return ConditionalBatchNorm(self.num_classes, statistics).of(labels) if net == "generator" else None

    def logit(self, logit, features, labels, reuse):
        """D's logit plus the projection term <embed(y), h> of its features, whose weights are D's: under its scope,
        read through its getters."""
        with tf1.variable_scope("discriminator", reuse=reuse, auxiliary_name_scope=False):
            return logit + projection(features, labels, self.num_classes)


class NoClasses:
    """A model without labels: none read, the plain batch norm, D's logit as it is."""

    def labels(self, placeholder):
        return None

    def batch_norm(self, net, statistics, labels):
        return None

    def logit(self, logit, features, labels, reuse):
        return logit


def of(config, num_classes):
    """The classes a model of config uses: Classes(num_classes) with --conditional, else NoClasses()."""
    return Classes(num_classes) if config.conditional else NoClasses()
