"""The framework's layers, TF1 style: one variable_scope per op, every variable named; and what the attention
blocks of SAGAN.py and extensions/ share.

A layer asks for its weights in its input's dtype; batch norm and the attention's softmax compute in float32.
What a net's variable_scope adds to how weights are read (spectral norm, float32 storage for bfloat16) is a
custom getter of extensions/, installed where the nets are built; the ops do not know it is there.
"""
import tensorflow as tf

from common.graph import add_arg_scope

tf1 = tf.compat.v1

ATTENTION_MAPS = "attention_maps"  # graph collection holding every attention block's beta
ATTENTION_SCALES = "attention_scales"  # every attention block's learnt scale (the article's gamma, the paper's sigma)
ATTENTION_SHARES = "attention_shares"  # every attention block's ||scale * o|| / ||x|| over its batch (residual_share)
# Graph collections pairing each training-mode bn's moving averages with the batch statistics they follow.
BN_MOVING_AVERAGES, BN_BATCH_STATISTICS = "bn_moving_averages", "bn_batch_statistics"
BN_DECAY = 0.9
BN_EPSILON = 1.001e-5  # tf.contrib batch_norm raised epsilon to this when it took the fused kernel, as it did here


def conv2d(input_, output_dim, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="conv2d"):
    """k_h x k_w convolution with stride (d_h, d_w) and SAME padding.

    Given lists of output_dim and name, the convolutions of input_ under each name, computed as one
    (conv2d_siblings); a list of their outputs.
    """
    if isinstance(output_dim, (list, tuple)):
        return conv2d_siblings(input_, output_dim, name, k_h, k_w, d_h, d_w, stddev)
    with tf1.variable_scope(name):
        w = tf1.get_variable("w", [k_h, k_w, input_.get_shape()[-1], output_dim], input_.dtype,
                             tf1.truncated_normal_initializer(stddev=stddev))
        b = tf1.get_variable("biases", [output_dim], input_.dtype, tf1.constant_initializer(0.0))
        return tf.nn.bias_add(tf.nn.conv2d(input_, w, strides=[1, d_h, d_w, 1], padding="SAME"), b)


def conv2d_siblings(input_, output_dims, names, k_h=4, k_w=4, d_h=1, d_w=1, stddev=0.02):
    """conv2d(input_, output_dims[i], name=names[i]) for each i, as one convolution: the same variables and maths.

    One wide convolution keeps the cores busier than a few narrow ones; tests/test_ops.py holds it to conv2d.
    """
    kernels, biases = [], []
    for output_dim, name in zip(output_dims, names):
        with tf1.variable_scope(name):
            kernels.append(tf1.get_variable("w", [k_h, k_w, input_.get_shape()[-1], output_dim], input_.dtype,
                                            tf1.truncated_normal_initializer(stddev=stddev)))
            biases.append(tf1.get_variable("biases", [output_dim], input_.dtype, tf1.constant_initializer(0.0)))
    conv = tf.nn.conv2d(input_, tf.concat(kernels, 3), strides=[1, d_h, d_w, 1], padding="SAME")
    return tf.split(tf.nn.bias_add(conv, tf.concat(biases, 0)), output_dims, axis=3)


def deconv2d(input_, output_shape, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="deconv2d"):
    """Transposed convolution to output_shape [_, H, W, C]; the batch size is taken from input_."""
    out_h, out_w, out_c = output_shape[1:]
    with tf1.variable_scope(name):
        # The kernel of conv2d_transpose is [h, w, out_channels, in_channels].
        w = tf1.get_variable("w", [k_h, k_w, out_c, input_.get_shape()[-1]], input_.dtype,
                             tf1.random_normal_initializer(stddev=stddev))
        b = tf1.get_variable("biases", [out_c], input_.dtype, tf1.constant_initializer(0.0))
        dynamic_shape = tf.stack([tf.shape(input_)[0], out_h, out_w, out_c])
        deconv = tf.nn.conv2d_transpose(input_, w, output_shape=dynamic_shape, strides=[1, d_h, d_w, 1],
                                        padding="SAME")
        deconv = tf.nn.bias_add(deconv, b)
        deconv.set_shape([None, out_h, out_w, out_c])
        return deconv


def linear(input_, output_size, scope="linear", stddev=0.02, bias_start=0.0):
    """Fully connected layer."""
    with tf1.variable_scope(scope):
        matrix = tf1.get_variable("Matrix", [input_.get_shape()[-1], output_size], input_.dtype,
                                  tf1.random_normal_initializer(stddev=stddev))
        bias = tf1.get_variable("bias", [output_size], input_.dtype, tf1.constant_initializer(bias_start))
        return tf.matmul(input_, matrix) + bias


def lrelu(x, leak=0.2, name="lrelu"):
    """Leaky ReLU, the framework's: max(x, leak * x).

    Written as the framework writes it for its gradient at 0, which is 1 (Maximum's gradient takes x >= leak * x);
    tf.nn.leaky_relu's is leak there, and a real batch's black background puts many of d_conv1's values at 0.
    """
    return tf.maximum(x, leak * x, name=name)


def update_moving_average(average, statistic, decay=BN_DECAY):
    """bn's moving average after one step towards statistic [C], or one step per batch part of statistic [P, C]."""
    if len(statistic.get_shape()) == 1:
        return tf1.assign(average, average * decay + statistic * (1.0 - decay))
    value = average
    for part in tf.unstack(statistic):  # in order, as that many separate forward passes would
        value = value * decay + part * (1.0 - decay)
    return tf1.assign(average, value)


def hw_flatten(x):
    """[B, H, W, C] -> [B, H*W, C]."""
    _, h, w, c = x.get_shape().as_list()
    return tf.reshape(x, [-1, h * w, c])


def normalise_with_batch_statistics(x, gamma, beta, epsilon, axes):
    """(gamma * (x - mean) / sqrt(variance + epsilon) + beta, mean, variance), statistics over axes, kept as dims.

    Autodiff of tf.nn.moments and tf.nn.batch_normalization builds many small passes over x for
    the gradient; this writes the textbook batch-norm gradient out, with its per-channel factors folded.
    """
    @tf.custom_gradient
    def forward(x, gamma, beta):
        mean = tf.reduce_mean(x, axes, keepdims=True)
        centred = x - mean
        variance = tf.reduce_mean(tf.square(centred), axes, keepdims=True)
        inverse_std = tf.math.rsqrt(variance + epsilon)
        scale = gamma * inverse_std

        def backward(d_out, _d_mean, _d_variance):
            # The statistics only feed the moving averages, which no loss reads.
            d_beta = tf.reduce_sum(d_out, axes, keepdims=True)
            d_gamma = tf.reduce_sum(d_out * centred, axes, keepdims=True) * inverse_std
            count = tf.cast(tf.size(x) // tf.size(mean), x.dtype)
            # scale * (d_out - (d_beta + x_hat * d_gamma) / count), x_hat = centred * inverse_std
            d_x = scale * d_out - centred * (scale * inverse_std * d_gamma / count) - scale * d_beta / count
            non_channel_axes = list(range(len(x.get_shape()) - 1))
            return d_x, tf.reduce_sum(d_gamma, non_channel_axes), tf.reduce_sum(d_beta, non_channel_axes)
        return (centred * scale + beta, mean, variance), backward

    return forward(x, tf.convert_to_tensor(gamma), tf.convert_to_tensor(beta))


class BatchStatistics:
    """Where bn's batch statistics come from: here the batch it normalises, on one device, whose pass moves the
    moving averages. parallel/replicas.py has the towers' own."""

    moves_averages = True

    def normalise(self, x, gamma, beta, epsilon, axes):
        """(x normalised by its statistics over axes then scaled by gamma and shifted by beta, mean, variance)."""
        return normalise_with_batch_statistics(x, gamma, beta, epsilon, axes)

    def count(self, x, axes):
        """How many values each statistic over axes of x is taken from."""
        return tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), tf.float32)


LOCAL_STATISTICS = BatchStatistics()  # a net's own batch, on one device


class BatchNorm:
    """The framework's batch norm (bn below), its batch statistics taken as statistics says, over each of parts
    equal parts of the batch apart: parts=2 normalises D(real) and D(fake) run as one pass as two passes would."""

    def __init__(self, statistics=LOCAL_STATISTICS, parts=1, decay=BN_DECAY, epsilon=BN_EPSILON):
        self.statistics, self.parts, self.decay, self.epsilon = statistics, parts, decay, epsilon

    def __call__(self, x, is_training, scope):
        with tf1.variable_scope(scope):
            channels = x.get_shape()[-1]
            beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
            gamma = tf1.get_variable("gamma", [channels], initializer=tf1.ones_initializer())
            return self.normalise(x, is_training, gamma, beta)

    def normalise(self, x, is_training, gamma, beta):
        """bn's arithmetic with the gamma and beta given (tensors [C]), its moving averages in the current scope."""
        channels, parts = x.get_shape()[-1], self.parts
        moving_mean = tf1.get_variable("moving_mean", [channels], initializer=tf1.zeros_initializer(),
                                       trainable=False)
        moving_variance = tf1.get_variable("moving_variance", [channels], initializer=tf1.ones_initializer(),
                                           trainable=False)
        x32 = tf.cast(x, tf.float32)
        if not is_training:
            return tf.cast(tf.nn.batch_normalization(x32, moving_mean, moving_variance, beta, gamma, self.epsilon),
                           x.dtype)
        if parts > 1:
            x32 = tf.reshape(x32, [parts, -1] + x.get_shape().as_list()[1:])  # [P, B/P, ..., C]
        axes = list(range(1 if parts > 1 else 0, len(x32.get_shape()) - 1))
        normalised, mean, variance = self.statistics.normalise(x32, gamma, beta, self.epsilon, axes)
        if parts > 1:
            normalised = tf.reshape(normalised, [-1] + x.get_shape().as_list()[1:])  # [B, ..., C]
        if not self.statistics.moves_averages:  # another tower's pass moves them, once a step
            return tf.cast(normalised, x.dtype)
        count = self.statistics.count(x32, axes)
        variance = variance * (count / tf.maximum(count - 1.0, 1.0))  # unbiased, for the moving average only
        mean, variance = (tf.reshape(s, [parts, channels] if parts > 1 else [channels])  # [C], or [P, C] per part
                          for s in (mean, variance))
        for average, statistic in ((moving_mean, mean), (moving_variance, variance)):
            tf1.add_to_collection(BN_MOVING_AVERAGES, average)
            tf1.add_to_collection(BN_BATCH_STATISTICS, statistic)
        with tf.control_dependencies([update_moving_average(moving_mean, mean, self.decay),
                                      update_moving_average(moving_variance, variance, self.decay)]):
            return tf.cast(tf.identity(normalised), x.dtype)  # reading the output runs the updates


@add_arg_scope
def bn(x, is_training, scope, norm=None):
    """Batch norm over all axes but the last: batch statistics while training, moving averages otherwise.

    As tf.contrib's batch_norm(updates_collections=None) did on these ranks, where it took the fused kernel:
    the moving averages are updated in place by every training-mode forward pass, and never by an
    inference-mode one; the moving variance moves towards the batch variance times n / (n - 1) (Bessel's
    correction, n values per channel), while the batch is normalised with the biased one; and epsilon is
    the fused kernel's 1.001e-5. Statistics and arithmetic are float32 whatever x's dtype. The gradient is
    written out (normalise_with_batch_statistics); tests/test_ops.py holds it to tf.nn.moments' autodiff.

    norm: another batch norm called as this one is, norm(x, is_training, scope): a tower's, over batch parts, or
    class-conditional. A model gives it to every bn of a net with common.graph.arg_scope([bn], norm=...), outside
    the lines of the net.
    """
    return (norm or BatchNorm())(x, is_training, scope)


def softmax(logits, axis=-1):
    """tf.nn.softmax computed in float32 whatever the dtype of logits, returned in it; the float32 map is added to
    ATTENTION_MAPS, for --phase attention."""
    beta = tf.nn.softmax(tf.cast(logits, tf.float32), axis=axis, name="beta")
    tf1.add_to_collection(ATTENTION_MAPS, beta)
    return tf.cast(beta, logits.dtype)


def residual_share(x, scale, o):
    """scale * o, an attention block's update of x, after adding scale to ATTENTION_SCALES and ||scale * o|| / ||x||
    over the batch to ATTENTION_SHARES: how much the block changes x, which scale alone does not say (it
    multiplies o, whose size it does not show)."""
    update = tf.cast(scale, o.dtype) * o  # a scale is float32, read as it is stored; o may be bfloat16
    tf1.add_to_collection(ATTENTION_SCALES, scale)
    norms = [tf.norm(tf.cast(t, tf.float32)) for t in (update, x)]
    tf1.add_to_collection(ATTENTION_SHARES, tf.math.divide_no_nan(*norms, name="share"))
    return update
