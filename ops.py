"""Layers for the GAN and SAGAN nets, TF1 style: one variable_scope per op, every variable named.

Variables are float32. Each op computes in its input's dtype, so a bfloat16 input gives mixed
precision: bfloat16 arithmetic on float32 master weights. Batch norm and softmax stay float32.
"""
import contextlib

import tensorflow as tf

tf1 = tf.compat.v1

ATTENTION_MAPS = "attention_maps"  # graph collection holding every attention block's beta
ATTENTION_SCALES = "attention_scales"  # every attention block's learnt scale (the article's gamma, the paper's sigma)
ATTENTION_SHARES = "attention_shares"  # every attention block's ||scale * o|| / ||x|| over its batch (residual_share)
# Graph collections pairing each spectral-normed weight's u with its next value after one power iteration.
SN_U, SN_U_NEXT = "spectral_norm_u", "spectral_norm_u_next"
# Graph collections pairing each training-mode bn's moving averages with the batch statistics they follow.
BN_MOVING_AVERAGES, BN_BATCH_STATISTICS = "bn_moving_averages", "bn_batch_statistics"
BN_DECAY = 0.9
BN_EPSILON = 1.001e-5  # tf.contrib batch_norm raised epsilon to this when it took the fused kernel, as it did here


def _power_iteration(w):
    """(u, W, v) of one power iteration: the stored u, w as a matrix W [-1, last dim], v = normalise(u W^T)."""
    w_matrix = tf.reshape(w, [-1, w.get_shape()[-1]])  # [k_h * k_w * in, out], or [..., in] for a deconv kernel
    u = tf1.get_variable("u", [1, w.get_shape()[-1]], initializer=tf1.truncated_normal_initializer(),
                         trainable=False, aggregation=tf.VariableAggregation.MEAN)  # replicas average it
    v = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(u, w_matrix, transpose_b=True)))  # [1, k]
    return u, w_matrix, v


def _inverse_sigma_from(u, w_v):
    """1 / sigma from the power iteration's second product w_v = v W [1, out], whose gradient reaches W.

    u moves only where a model assigns it the next value this adds to SN_U_NEXT, so a pass that
    should not move it (inference, the G step's pass through D) simply leaves that value unused.
    """
    u_next = tf.stop_gradient(tf.math.l2_normalize(w_v))
    tf1.add_to_collection(SN_U, u)  # a model with towers takes the first tower's pair
    tf1.add_to_collection(SN_U_NEXT, u_next)
    return 1.0 / tf.reduce_sum(w_v * u_next)


def inverse_sigma(w):
    """1 / sigma(w), sigma from one power iteration on w as a matrix [-1, last dim], from the stored u."""
    u, w_matrix, v = _power_iteration(w)
    return _inverse_sigma_from(u, tf.matmul(v, w_matrix))


def spectral_normed(w):
    """w / sigma(w) (inverse_sigma)."""
    return w * inverse_sigma(w)


def kernel(name, shape, initializer, spectral_norm):
    """A convolution's kernel variable, divided by its sigma with spectral_norm."""
    # A layer is linear in its weight, so w / sigma could as well scale the output. A kernel here has
    # 1k to 262k entries and a batch's output 400k to 800k, so the kernel is the cheaper one to scale.
    w = tf1.get_variable(name, shape, tf.float32, initializer)
    return spectral_normed(w) if spectral_norm else w


def conv2d(input_, output_dim, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="conv2d", spectral_norm=False):
    """k_h x k_w convolution with stride (d_h, d_w) and SAME padding."""
    with tf1.variable_scope(name):
        in_dim = input_.get_shape()[-1]
        w = kernel("w", [k_h, k_w, in_dim, output_dim], tf1.truncated_normal_initializer(stddev=stddev),
                    spectral_norm)
        b = tf1.get_variable("biases", [output_dim], initializer=tf1.constant_initializer(0.0))
        conv = tf.nn.conv2d(input_, tf.cast(w, input_.dtype), strides=[1, d_h, d_w, 1], padding="SAME")
        return tf.nn.bias_add(conv, tf.cast(b, input_.dtype))


def conv2d_siblings(input_, output_dims, names, k_h=4, k_w=4, d_h=1, d_w=1, stddev=0.02, spectral_norm=False):
    """conv2d(input_, output_dims[i], name=names[i]) for each i, as one convolution: the same variables and maths."""
    in_dim = input_.get_shape()[-1]
    kernels, biases = [], []
    for output_dim, name in zip(output_dims, names):
        with tf1.variable_scope(name):
            kernels.append(kernel("w", [k_h, k_w, in_dim, output_dim],
                                   tf1.truncated_normal_initializer(stddev=stddev), spectral_norm))
            biases.append(tf1.get_variable("biases", [output_dim], initializer=tf1.constant_initializer(0.0)))
    # One wide convolution keeps the cores busier than a few narrow ones.
    conv = tf.nn.conv2d(input_, tf.cast(tf.concat(kernels, 3), input_.dtype), strides=[1, d_h, d_w, 1],
                        padding="SAME")
    conv = tf.nn.bias_add(conv, tf.cast(tf.concat(biases, 0), input_.dtype))
    return tf.split(conv, output_dims, axis=3)


def deconv2d(input_, output_shape, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="deconv2d", spectral_norm=False):
    """Transposed convolution to output_shape [_, H, W, C]; the batch size is taken from input_."""
    out_h, out_w, out_c = output_shape[1:]
    with tf1.variable_scope(name):
        in_dim = input_.get_shape()[-1]
        # The kernel of conv2d_transpose is [h, w, out_channels, in_channels].
        w = kernel("w", [k_h, k_w, out_c, in_dim], tf1.random_normal_initializer(stddev=stddev), spectral_norm)
        b = tf1.get_variable("biases", [out_c], initializer=tf1.constant_initializer(0.0))
        dynamic_shape = tf.stack([tf.shape(input_)[0], out_h, out_w, out_c])
        deconv = tf.nn.conv2d_transpose(input_, tf.cast(w, input_.dtype), output_shape=dynamic_shape,
                                        strides=[1, d_h, d_w, 1], padding="SAME")
        deconv = tf.nn.bias_add(deconv, tf.cast(b, input_.dtype))
        deconv.set_shape([None, out_h, out_w, out_c])
        return deconv


def linear(input_, output_size, scope="linear", stddev=0.02, bias_start=0.0, spectral_norm=False):
    """Fully connected layer."""
    with tf1.variable_scope(scope):
        in_dim = input_.get_shape()[-1]
        matrix = tf1.get_variable("Matrix", [in_dim, output_size], tf.float32,
                                  tf1.random_normal_initializer(stddev=stddev))
        if spectral_norm and input_.dtype == tf.float32:
            u, _, v = _power_iteration(matrix)
            bias = tf1.get_variable("bias", [output_size], initializer=tf1.constant_initializer(bias_start))
            # v rides along as one more row: the layer's product and sigma's (v W) read the matrix once,
            # and backward, sigma's gradient joins the matrix's gradient in the same product.
            output, w_v = tf.split(tf.matmul(tf.concat([input_, v], 0), matrix), [-1, 1])  # [B + 1, out] -> B, 1
            return output * _inverse_sigma_from(u, w_v) + bias
        scale = inverse_sigma(matrix) if spectral_norm else None
        bias = tf1.get_variable("bias", [output_size], initializer=tf1.constant_initializer(bias_start))
        output = tf.matmul(input_, tf.cast(matrix, input_.dtype))  # [B, out]
        # The matrix (up to 6.4M entries) is far larger than a batch's output: scale the output, not the matrix.
        output = output if scale is None else output * tf.cast(scale, output.dtype)
        return output + tf.cast(bias, input_.dtype)


def lrelu(x, leak=0.2, name="lrelu"):
    """Leaky ReLU, the framework's max(x, leak * x), as one kernel each way."""
    return tf.nn.leaky_relu(x, alpha=leak, name=name)


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
    """The framework's batch norm (bn below), its batch statistics taken as statistics says."""

    def __init__(self, statistics=LOCAL_STATISTICS, decay=BN_DECAY, epsilon=BN_EPSILON):
        self.statistics, self.decay, self.epsilon = statistics, decay, epsilon

    def __call__(self, x, is_training, scope, batch_parts=1):
        with tf1.variable_scope(scope):
            channels = x.get_shape()[-1]
            beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
            gamma = tf1.get_variable("gamma", [channels], initializer=tf1.ones_initializer())
            return self.normalise(x, is_training, gamma, beta, batch_parts)

    def normalise(self, x, is_training, gamma, beta, batch_parts=1):
        """bn's arithmetic with the gamma and beta given (tensors [C]), its moving averages in the current scope."""
        channels = x.get_shape()[-1]
        moving_mean = tf1.get_variable("moving_mean", [channels], initializer=tf1.zeros_initializer(),
                                       trainable=False)
        moving_variance = tf1.get_variable("moving_variance", [channels], initializer=tf1.ones_initializer(),
                                           trainable=False)
        x32 = tf.cast(x, tf.float32)
        if not is_training:
            return tf.cast(tf.nn.batch_normalization(x32, moving_mean, moving_variance, beta, gamma, self.epsilon),
                           x.dtype)
        if batch_parts > 1:
            x32 = tf.reshape(x32, [batch_parts, -1] + x.get_shape().as_list()[1:])  # [P, B/P, ..., C]
        axes = list(range(1 if batch_parts > 1 else 0, len(x32.get_shape()) - 1))
        normalised, mean, variance = self.statistics.normalise(x32, gamma, beta, self.epsilon, axes)
        if not self.statistics.moves_averages:  # another tower's pass moves them, once a step
            return tf.cast(tf.reshape(normalised, [-1] + x.get_shape().as_list()[1:]), x.dtype)
        count = self.statistics.count(x32, axes)
        variance = variance * (count / tf.maximum(count - 1.0, 1.0))  # unbiased, for the moving average only
        # [C], or [P, C] per part
        mean, variance = (tf.reshape(s, [batch_parts, channels] if batch_parts > 1 else [channels])
                          for s in (mean, variance))
        for average, statistic in ((moving_mean, mean), (moving_variance, variance)):
            tf1.add_to_collection(BN_MOVING_AVERAGES, average)
            tf1.add_to_collection(BN_BATCH_STATISTICS, statistic)
        with tf.control_dependencies([update_moving_average(moving_mean, mean, self.decay),
                                      update_moving_average(moving_variance, variance, self.decay)]):
            normalised = tf.identity(normalised)  # reading the output runs the updates
        if batch_parts > 1:
            normalised = tf.reshape(normalised, [-1] + x.get_shape().as_list()[1:])  # [B, ..., C]
        return tf.cast(normalised, x.dtype)


def bn(x, is_training, scope, batch_parts=1):
    """Batch norm over all axes but the last: batch statistics while training, moving averages otherwise.

    As tf.contrib's batch_norm(updates_collections=None) did on these ranks, where it took the fused kernel:
    the moving averages are updated in place by every training-mode forward pass, and never by an
    inference-mode one; the moving variance moves towards the batch variance times n / (n - 1) (Bessel's
    correction, n values per channel), while the batch is normalised with the biased one; and epsilon is
    the fused kernel's 1.001e-5. Statistics and arithmetic are float32 whatever x's dtype. The gradient is
    written out (normalise_with_batch_statistics); tests/test_ops.py holds it to tf.nn.moments' autodiff.
    batch_parts=2 normalises the two halves of the batch apart, as two forward passes of half the batch would.
    """
    return BatchNorm()(x, is_training, scope, batch_parts)


def attention(x, is_training=True, scope="attention", reuse=False, batch_parts=1, spectral_norm=False, norm=bn):
    """The article's self-attention block: x + gamma * softmax(g f^T) h, with f, g at C//8 channels.

    Everything but bn is per image; batch_parts is bn's. norm: the batch norm of the net around it.
    """
    _, height, width, channels = x.get_shape().as_list()
    with tf1.variable_scope(scope, reuse=reuse):
        # f_conv, g_conv, h_conv: the article's three 4x4 convolutions, computed as one
        convs = conv2d_siblings(x, (channels // 8, channels // 8, channels), ("f_conv", "g_conv", "h_conv"),
                                spectral_norm=spectral_norm)
        f, g, h = (tf.nn.relu(norm(conv, is_training, scope=bn_scope, batch_parts=batch_parts))
                   for conv, bn_scope in zip(convs, ("f_bn", "g_bn", "h_bn")))

        s = tf.matmul(hw_flatten(g), hw_flatten(f), transpose_b=True)  # [B, N, N], N = H*W
        beta = tf.nn.softmax(tf.cast(s, tf.float32), axis=-1, name="beta")  # row i: where query i looks
        tf1.add_to_collection(ATTENTION_MAPS, beta)

        o = tf.matmul(tf.cast(beta, x.dtype), hw_flatten(h))  # [B, N, C]
        gamma = tf1.get_variable("gamma", [1], initializer=tf1.constant_initializer(0.0))
        tf1.add_to_collection(ATTENTION_SCALES, gamma)

        o = tf.reshape(o, [-1, height, width, channels])  # [B, H, W, C]
        return residual_share(x, tf.cast(gamma, x.dtype) * o) + x


def residual_share(x, update):
    """update, after adding ||update|| / ||x|| over the batch to ATTENTION_SHARES: how much a block changes x.

    A block's scale alone does not say this: it multiplies o, whose size the scale does not show.
    """
    norms = [tf.norm(tf.cast(t, tf.float32)) for t in (update, x)]
    tf1.add_to_collection(ATTENTION_SHARES, tf.math.divide_no_nan(*norms, name="share"))
    return update


# ------------------------------------------------------------ graph helpers

@contextlib.contextmanager
def new_entries(*collections):
    """{collection: the entries added to it inside the block}."""
    first = {c: len(tf1.get_collection(c)) for c in collections}
    added = {}
    yield added
    added.update({c: tf1.get_collection(c)[first[c]:] for c in collections})


def then(op, build_after):
    """op, then the ops that build_after() makes, built under op so that they run after it; as one op."""
    with tf.control_dependencies([op]):
        return tf.group(op, *build_after())


def load_values(sess, values):
    """Set each variable of {variable: array} to its array, in one session.run (a run per variable costs ~30 ms)."""
    feeds, assigns = {}, []
    for variable, value in values.items():
        placeholder = tf1.placeholder(variable.dtype.base_dtype, variable.shape)
        feeds[placeholder] = value
        assigns.append(tf1.assign(variable, placeholder))
    sess.run(tf.group(*assigns), feeds)
