"""SAGAN as the article writes it: the GAN framework's MNIST nets with a self-attention block on the 7x7x128
maps of G and D. Its attention, generator and discriminator are the article's, line for line, but for the
deviations docs/deviations.md lists; what extends them (towers, classes, precision, spectral norm, the SAGAN
paper's block) enters where GAN.py builds the nets, not here.
"""
import tensorflow.compat.v1 as tf

from GAN import GAN
from extensions.paper_attention import paper_attention
from ops import bn, conv2d, deconv2d, hw_flatten, linear, lrelu, residual_share, softmax


class SAGAN(GAN):
    """GAN with a self-attention block after G's reshape and after D's second conv block."""
    model_name = "SAGAN"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.config.attention == "paper":  # --attention paper: the SAGAN paper's block where the article's sits
            self.attention = paper_attention

    def attention(self, x, is_training=True, scope='attention', reuse=False):
        with tf.variable_scope(scope, reuse=reuse):
            # f_conv, g_conv and h_conv: the article's three 4x4 convolutions of x, computed as one
            f, g, h = conv2d(x, [16, 16, 128], 4, 4, 1, 1, name=['f_conv', 'g_conv', 'h_conv'])
            f = tf.nn.relu(bn(f, is_training=is_training, scope='f_bn'))
            g = tf.nn.relu(bn(g, is_training=is_training, scope='g_bn'))
            h = tf.nn.relu(bn(h, is_training=is_training, scope='h_bn'))

            s = tf.matmul(hw_flatten(g), hw_flatten(f), transpose_b=True)  # [bs, N, N]

            beta = softmax(s, axis=-1)  # attention map, computed in float32

            o = tf.matmul(beta, hw_flatten(h))  # [bs, N, C]
            gamma = tf.get_variable("gamma", [1], initializer=tf.constant_initializer(0.0))

            o = tf.reshape(o, shape=tf.shape(x))  # [bs, h, w, C]
            x = residual_share(x, gamma, o) + x  # gamma * o + x
        return x

    def generator(self, z, is_training=True, reuse=False):
        with tf.variable_scope("generator", reuse=reuse):
            net = tf.nn.relu(bn(linear(z, 1024, scope='g_fc1'), is_training=is_training, scope='g_bn1'))
            net = tf.nn.relu(bn(linear(net, 128 * 7 * 7, scope='g_fc2'), is_training=is_training, scope='g_bn2'))
            net = tf.reshape(net, [-1, 7, 7, 128])  # [bs, 6272] -> [bs, 7, 7, 128]
            net = self.attention(net, is_training=is_training, scope="attention", reuse=reuse)
            net = tf.nn.relu(
                bn(deconv2d(net, [None, 14, 14, 64], 4, 4, 2, 2, name='g_dc3'), is_training=is_training,
                   scope='g_bn3'))
            out = tf.nn.sigmoid(deconv2d(net, [None, 28, 28, 1], 4, 4, 2, 2, name='g_dc4'))
        return out

    def discriminator(self, x, is_training=True, reuse=False):
        with tf.variable_scope("discriminator", reuse=reuse):
            net = lrelu(conv2d(x, 64, 4, 4, 2, 2, name='d_conv1'))
            net = lrelu(
                bn(conv2d(net, 128, 4, 4, 2, 2, name='d_conv2'), is_training=is_training, scope='d_bn2'))
            net = self.attention(net, is_training=is_training, scope="attention", reuse=reuse)
            net = tf.reshape(net, [-1, 7 * 7 * 128])  # [bs, 7, 7, 128] -> [bs, 6272]
            net = lrelu(bn(linear(net, 1024, scope='d_fc3'), is_training=is_training, scope='d_bn3'))
            out_logit = linear(net, 1, scope='d_fc4')
            out = tf.nn.sigmoid(out_logit)
        return out, out_logit, net
