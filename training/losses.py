"""GAN losses as small named functions, chosen by --loss: each takes D's logits and returns a scalar."""
import tensorflow as tf


def _sigmoid_ce(logits, target):
    """Mean sigmoid cross-entropy of logits against a constant label."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=logits, labels=tf.fill(tf.shape(logits), target)))


def bce_d_losses(real_logits, fake_logits):
    """The framework's D loss, as (on real, on fake): real -> 1, fake -> 0."""
    return _sigmoid_ce(real_logits, 1.0), _sigmoid_ce(fake_logits, 0.0)


def bce_g_loss(fake_logits):
    """The non-saturating G loss: fake -> 1."""
    return _sigmoid_ce(fake_logits, 1.0)


def hinge_d_losses(real_logits, fake_logits):
    """The SAGAN paper's D loss, as (on real, on fake): mean relu(1 - D(x)), mean relu(1 + D(G(z)))."""
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)), tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))


def hinge_g_loss(fake_logits):
    """The SAGAN paper's G loss: -mean D(G(z))."""
    return -tf.reduce_mean(fake_logits)


LOSSES = {"bce": (bce_d_losses, bce_g_loss), "hinge": (hinge_d_losses, hinge_g_loss)}
