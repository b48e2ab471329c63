"""--attention paper: the SAGAN paper's attention block (the official non_local.py), in place of the article's."""
import tensorflow as tf

from ops import hw_flatten, residual_share, softmax

tf1 = tf.compat.v1


def conv1x1(input_, output_dim, name):
    """1x1 convolution without bias, Glorot-initialised, as the SAGAN paper's attention block has them."""
    with tf1.variable_scope(name):
        w = tf1.get_variable("w", [1, 1, input_.get_shape()[-1], output_dim], input_.dtype,
                             tf1.glorot_uniform_initializer())
        return tf.nn.conv2d(input_, w, strides=[1, 1, 1, 1], padding="SAME")


def paper_attention(x, is_training=True, scope="attention", reuse=False):
    """The SAGAN paper's block (the official non_local.py): x + sigma * o, sigma starting at 0.

    theta, phi: 1x1 to C/8; g: 1x1 to C/2; phi and g max-pooled 2x2 where the sides are even;
    o = a 1x1 convolution back to C of softmax(theta phi^T) g. No batch norm or ReLU inside, so is_training (of the
    article's block's signature, which SAGAN's nets call) changes nothing.
    """
    _, height, width, channels = x.get_shape().as_list()
    pooled = height % 2 == 0 and width % 2 == 0
    with tf1.variable_scope(scope, reuse=reuse):
        theta = hw_flatten(conv1x1(x, channels // 8, "theta"))  # [B, N, C/8]
        phi = conv1x1(x, channels // 8, "phi")
        g = conv1x1(x, channels // 2, "g")
        if pooled:
            phi, g = (tf.nn.max_pool2d(t, 2, 2, "VALID") for t in (phi, g))  # [B, H/2, W/2, .]
        phi, g = hw_flatten(phi), hw_flatten(g)  # [B, M, C/8], [B, M, C/2]; M = N/4 when pooled
        beta = softmax(tf.matmul(theta, phi, transpose_b=True), axis=-1)  # [B, N, M], row i: where query i looks
        o = tf.matmul(beta, g)  # [B, N, C/2]
        o = tf.reshape(o, [-1, height, width, channels // 2])  # [B, H, W, C/2]
        o = conv1x1(o, channels, "o")
        sigma = tf1.get_variable("sigma", [1], initializer=tf1.constant_initializer(0.0))
        return residual_share(x, sigma, o) + x
