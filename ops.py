"""Layers for the GAN and SAGAN nets, TF1 style: one variable_scope per op, every variable named.

Variables are float32. Each op computes in its input's dtype, so a bfloat16 input gives mixed
precision: bfloat16 arithmetic on float32 master weights. Batch norm and softmax stay float32.
"""
import tensorflow as tf

tf1 = tf.compat.v1

ATTENTION_MAPS = "attention_maps"  # graph collection holding every attention block's beta
# Graph collections pairing each training-mode bn's moving averages with the batch statistics they follow.
BN_MOVING_AVERAGES, BN_BATCH_STATISTICS = "bn_moving_averages", "bn_batch_statistics"
BN_DECAY = 0.9


def conv2d(input_, output_dim, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="conv2d"):
    """k_h x k_w convolution with stride (d_h, d_w) and SAME padding."""
    with tf1.variable_scope(name):
        in_dim = input_.get_shape()[-1]
        w = tf1.get_variable("w", [k_h, k_w, in_dim, output_dim],
                             initializer=tf1.truncated_normal_initializer(stddev=stddev))
        b = tf1.get_variable("biases", [output_dim], initializer=tf1.constant_initializer(0.0))
        conv = tf.nn.conv2d(input_, tf.cast(w, input_.dtype), strides=[1, d_h, d_w, 1], padding="SAME")
        return tf.nn.bias_add(conv, tf.cast(b, input_.dtype))


def deconv2d(input_, output_shape, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="deconv2d"):
    """Transposed convolution to output_shape [_, H, W, C]; the batch size is taken from input_."""
    out_h, out_w, out_c = output_shape[1:]
    with tf1.variable_scope(name):
        in_dim = input_.get_shape()[-1]
        # The kernel of conv2d_transpose is [h, w, out_channels, in_channels].
        w = tf1.get_variable("w", [k_h, k_w, out_c, in_dim],
                             initializer=tf1.random_normal_initializer(stddev=stddev))
        b = tf1.get_variable("biases", [out_c], initializer=tf1.constant_initializer(0.0))
        dynamic_shape = tf.stack([tf.shape(input_)[0], out_h, out_w, out_c])
        deconv = tf.nn.conv2d_transpose(input_, tf.cast(w, input_.dtype), output_shape=dynamic_shape,
                                        strides=[1, d_h, d_w, 1], padding="SAME")
        deconv = tf.nn.bias_add(deconv, tf.cast(b, input_.dtype))
        deconv.set_shape([None, out_h, out_w, out_c])
        return deconv


def linear(input_, output_size, scope="linear", stddev=0.02, bias_start=0.0):
    """Fully connected layer."""
    with tf1.variable_scope(scope):
        in_dim = input_.get_shape()[-1]
        matrix = tf1.get_variable("Matrix", [in_dim, output_size], tf.float32,
                                  tf1.random_normal_initializer(stddev=stddev))
        bias = tf1.get_variable("bias", [output_size], initializer=tf1.constant_initializer(bias_start))
        return tf.matmul(input_, tf.cast(matrix, input_.dtype)) + tf.cast(bias, input_.dtype)


def lrelu(x, leak=0.2, fused=True, name="lrelu"):
    """Leaky ReLU, max(x, leak * x): one kernel each way when fused, the article's maximum otherwise."""
    if fused:
        return tf.nn.leaky_relu(x, alpha=leak, name=name)
    return tf.maximum(x, leak * x, name=name)


def update_moving_average(average, statistic, decay=BN_DECAY):
    """One more step of bn's moving average towards statistic."""
    return tf1.assign(average, average * decay + statistic * (1.0 - decay))


def hw_flatten(x):
    """[B, H, W, C] -> [B, H*W, C]."""
    _, h, w, c = x.get_shape().as_list()
    return tf.reshape(x, [-1, h * w, c])


def normalise_with_batch_statistics(x, gamma, beta, epsilon):
    """(gamma * (x - mean) / sqrt(variance + epsilon) + beta, mean, variance) over all axes but the last.

    Autodiff of tf.nn.moments and tf.nn.batch_normalization builds many small passes over x for
    the gradient; this writes the textbook batch-norm gradient out.
    """
    axes = list(range(len(x.get_shape()) - 1))

    @tf.custom_gradient
    def forward(x, gamma, beta):
        mean, variance = tf.nn.moments(x, axes)
        inverse_std = tf.math.rsqrt(variance + epsilon)
        normalised = (x - mean) * inverse_std  # x-hat

        def backward(d_out, _d_mean, _d_variance):
            # The averages only feed the moving averages, which no loss reads.
            d_beta = tf.reduce_sum(d_out, axes)
            d_gamma = tf.reduce_sum(d_out * normalised, axes)
            count = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
            d_x = (gamma * inverse_std) * (d_out - (d_beta + normalised * d_gamma) / count)
            return d_x, d_gamma, d_beta
        return (normalised * gamma + beta, mean, variance), backward

    return forward(x, tf.convert_to_tensor(gamma), tf.convert_to_tensor(beta))


def bn(x, is_training, scope, decay=BN_DECAY, epsilon=1e-5, fused=True):
    """Batch norm over all axes but the last: batch statistics while training, moving averages otherwise.

    As with tf.contrib's batch_norm(updates_collections=None), the moving averages are updated in
    place by every training-mode forward pass, and never by an inference-mode one. Statistics and
    arithmetic are float32 whatever x's dtype. fused=False differentiates the article's unfused ops.
    """
    with tf1.variable_scope(scope):
        channels = x.get_shape()[-1]
        beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
        gamma = tf1.get_variable("gamma", [channels], initializer=tf1.ones_initializer())
        moving_mean = tf1.get_variable("moving_mean", [channels], initializer=tf1.zeros_initializer(),
                                       trainable=False)
        moving_variance = tf1.get_variable("moving_variance", [channels],
                                           initializer=tf1.ones_initializer(), trainable=False)
        x32 = tf.cast(x, tf.float32)
        if not is_training:
            return tf.cast(tf.nn.batch_normalization(x32, moving_mean, moving_variance, beta, gamma, epsilon),
                           x.dtype)
        if fused:
            normalised, mean, variance = normalise_with_batch_statistics(x32, gamma, beta, epsilon)
        else:
            mean, variance = tf.nn.moments(x32, axes=list(range(len(x.get_shape()) - 1)))
        for average, statistic in ((moving_mean, mean), (moving_variance, variance)):
            tf1.add_to_collection(BN_MOVING_AVERAGES, average)
            tf1.add_to_collection(BN_BATCH_STATISTICS, statistic)
        with tf.control_dependencies([update_moving_average(moving_mean, mean, decay),
                                      update_moving_average(moving_variance, variance, decay)]):
            if fused:
                return tf.cast(tf.identity(normalised), x.dtype)
            return tf.cast(tf.nn.batch_normalization(x32, mean, variance, beta, gamma, epsilon), x.dtype)


def attention(x, is_training=True, scope="attention", reuse=False, fused=True):
    """The article's self-attention block: x + gamma * softmax(g f^T) h, with f, g at C//8 channels."""
    _, height, width, channels = x.get_shape().as_list()
    with tf1.variable_scope(scope, reuse=reuse):
        f = tf.nn.relu(bn(conv2d(x, channels // 8, 4, 4, 1, 1, name="f_conv"), is_training,
                            scope="f_bn", fused=fused))
        g = tf.nn.relu(bn(conv2d(x, channels // 8, 4, 4, 1, 1, name="g_conv"), is_training,
                            scope="g_bn", fused=fused))
        h = tf.nn.relu(bn(conv2d(x, channels, 4, 4, 1, 1, name="h_conv"), is_training,
                            scope="h_bn", fused=fused))

        s = tf.matmul(hw_flatten(g), hw_flatten(f), transpose_b=True)  # [B, N, N], N = H*W
        beta = tf.nn.softmax(tf.cast(s, tf.float32), axis=-1, name="beta")  # row i: where query i looks
        tf1.add_to_collection(ATTENTION_MAPS, beta)

        o = tf.matmul(tf.cast(beta, x.dtype), hw_flatten(h))  # [B, N, C]
        gamma = tf1.get_variable("gamma", [1], initializer=tf1.constant_initializer(0.0))

        o = tf.reshape(o, [-1, height, width, channels])  # [B, H, W, C]
        return tf.cast(gamma, x.dtype) * o + x
