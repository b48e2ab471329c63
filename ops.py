"""Layers for the GAN and SAGAN nets, TF1 style: one variable_scope per op, every variable named."""
import tensorflow as tf

tf1 = tf.compat.v1

ATTENTION_MAPS = "attention_maps"  # graph collection holding every attention block's beta


def conv2d(input_, output_dim, k_h=4, k_w=4, d_h=2, d_w=2, stddev=0.02, name="conv2d"):
    """k_h x k_w convolution with stride (d_h, d_w) and SAME padding."""
    with tf1.variable_scope(name):
        in_dim = input_.get_shape()[-1]
        w = tf1.get_variable("w", [k_h, k_w, in_dim, output_dim],
                             initializer=tf1.truncated_normal_initializer(stddev=stddev))
        b = tf1.get_variable("biases", [output_dim], initializer=tf1.constant_initializer(0.0))
        conv = tf.nn.conv2d(input_, w, strides=[1, d_h, d_w, 1], padding="SAME")
        return tf.nn.bias_add(conv, b)


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
        deconv = tf.nn.conv2d_transpose(input_, w, output_shape=dynamic_shape,
                                        strides=[1, d_h, d_w, 1], padding="SAME")
        deconv = tf.nn.bias_add(deconv, b)
        deconv.set_shape([None, out_h, out_w, out_c])
        return deconv


def linear(input_, output_size, scope="linear", stddev=0.02, bias_start=0.0):
    """Fully connected layer."""
    with tf1.variable_scope(scope):
        in_dim = input_.get_shape()[-1]
        matrix = tf1.get_variable("Matrix", [in_dim, output_size], tf.float32,
                                  tf1.random_normal_initializer(stddev=stddev))
        bias = tf1.get_variable("bias", [output_size], initializer=tf1.constant_initializer(bias_start))
        return tf.matmul(input_, matrix) + bias


def lrelu(x, leak=0.2, name="lrelu"):
    """Leaky ReLU."""
    return tf.maximum(x, leak * x, name=name)


def hw_flatten(x):
    """[B, H, W, C] -> [B, H*W, C]."""
    _, h, w, c = x.get_shape().as_list()
    return tf.reshape(x, [-1, h * w, c])


def bn(x, is_training, scope, decay=0.9, epsilon=1e-5):
    """Batch norm over all axes but the last: batch statistics while training, moving averages otherwise.

    As with tf.contrib's batch_norm(updates_collections=None), the moving averages are updated in
    place by every training-mode forward pass, and never by an inference-mode one.
    """
    with tf1.variable_scope(scope):
        channels = x.get_shape()[-1]
        beta = tf1.get_variable("beta", [channels], initializer=tf1.zeros_initializer())
        gamma = tf1.get_variable("gamma", [channels], initializer=tf1.ones_initializer())
        moving_mean = tf1.get_variable("moving_mean", [channels], initializer=tf1.zeros_initializer(),
                                       trainable=False)
        moving_variance = tf1.get_variable("moving_variance", [channels],
                                           initializer=tf1.ones_initializer(), trainable=False)
        if not is_training:
            return tf.nn.batch_normalization(x, moving_mean, moving_variance, beta, gamma, epsilon)
        mean, variance = tf.nn.moments(x, axes=list(range(len(x.get_shape()) - 1)))
        update_mean = tf1.assign(moving_mean, moving_mean * decay + mean * (1.0 - decay))
        update_variance = tf1.assign(moving_variance, moving_variance * decay + variance * (1.0 - decay))
        with tf.control_dependencies([update_mean, update_variance]):
            return tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon)


def attention(x, is_training=True, scope="attention", reuse=False):
    """The article's self-attention block: x + gamma * softmax(g f^T) h, with f, g at C//8 channels."""
    _, height, width, channels = x.get_shape().as_list()
    with tf1.variable_scope(scope, reuse=reuse):
        f = tf.nn.relu(bn(conv2d(x, channels // 8, 4, 4, 1, 1, name="f_conv"), is_training, scope="f_bn"))
        g = tf.nn.relu(bn(conv2d(x, channels // 8, 4, 4, 1, 1, name="g_conv"), is_training, scope="g_bn"))
        h = tf.nn.relu(bn(conv2d(x, channels, 4, 4, 1, 1, name="h_conv"), is_training, scope="h_bn"))

        s = tf.matmul(hw_flatten(g), hw_flatten(f), transpose_b=True)  # [B, N, N], N = H*W
        beta = tf.nn.softmax(s, axis=-1, name="beta")  # row i: where query position i looks
        tf1.add_to_collection(ATTENTION_MAPS, beta)

        o = tf.matmul(beta, hw_flatten(h))  # [B, N, C]
        gamma = tf1.get_variable("gamma", [1], initializer=tf1.constant_initializer(0.0))

        o = tf.reshape(o, [-1, height, width, channels])  # [B, H, W, C]
        return gamma * o + x
