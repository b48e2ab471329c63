"""The SAGAN paper's recipe, op by op: spectral norm, hinge losses, the paper's attention block."""
import numpy as np
import pytest
import tensorflow as tf

from training import losses
import ops
from extensions import spectral_norm
from extensions.paper_attention import conv1x1, paper_attention

tf1 = tf.compat.v1


def spectral_normed_scope(name=None):
    """A variable scope (the current one again, or name) whose layer weights are read as w / sigma(w)."""
    return tf1.variable_scope(name or tf1.get_variable_scope(), custom_getter=spectral_norm.normed_weights)


@pytest.mark.parametrize("layer", ["conv2d", "deconv2d", "linear"])
def test_spectral_norm_finds_the_largest_singular_value_and_u_moves_only_when_assigned(sess, layer):
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 7, 7, 16)).astype(np.float32))
    layers = {"conv2d": lambda: ops.conv2d(x, 8, name="layer"),
              "deconv2d": lambda: ops.deconv2d(x, [None, 14, 14, 8], name="layer"),
              "linear": lambda: ops.linear(tf.reshape(x, [2, -1]), 8, scope="layer")}

    def build():
        with spectral_normed_scope():
            return layers[layer]()
    training_pass = build()
    (u,), (u_next,) = tf1.get_collection(spectral_norm.SN_U), tf1.get_collection(spectral_norm.SN_U_NEXT)
    tf1.get_variable_scope().reuse_variables()
    inference_pass = build()  # the same weight and u, another pass whose next u nobody assigns
    w = [v for v in tf1.global_variables() if v.op.name.endswith(("/w", "/Matrix"))][0]
    assert u not in tf1.trainable_variables()
    move_u = tf1.assign(u, u_next)
    sess.run(tf1.global_variables_initializer())
    w_value = sess.run(w)
    matrix = w_value.reshape(-1, w_value.shape[-1])  # [-1, last dim], for a deconv kernel [-1, in]
    before = sess.run(u)
    sess.run([training_pass, inference_pass])
    np.testing.assert_array_equal(sess.run(u), before)  # no pass moves u by itself
    for _ in range(50):
        sess.run(move_u)
    with tf1.variable_scope("layer", reuse=True):
        normed = spectral_norm.spectral_normed(tf1.get_variable("w" if layer != "linear" else "Matrix"))
    sigma = np.linalg.svd(matrix, compute_uv=False)[0]
    normed_value = sess.run(normed)
    np.testing.assert_allclose(np.linalg.svd(normed_value.reshape(matrix.shape), compute_uv=False)[0], 1.0, rtol=1e-3)
    np.testing.assert_allclose(normed_value, w_value / sigma, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("layer", ["conv2d", "deconv2d", "linear", "conv1x1"])
def test_a_spectral_normed_layer_is_the_layer_with_w_over_sigma_in_value_and_gradient(sess, layer):
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, 7, 7, 16)).astype(np.float32))
    flat = tf.reshape(x, [2, -1])
    with spectral_normed_scope("sn"):
        layer_out = {"conv2d": lambda: ops.conv2d(x, 8, name="layer"),
                     "deconv2d": lambda: ops.deconv2d(x, [None, 14, 14, 8], name="layer"),
                     "linear": lambda: ops.linear(flat, 8, scope="layer"),
                     "conv1x1": lambda: conv1x1(x, 8, "layer")}[layer]()
    w = [v for v in tf1.trainable_variables() if v.op.name.endswith(("/w", "/Matrix"))][0]
    bias = [v for v in tf1.trainable_variables() if v.op.name.endswith(("biases", "bias"))]
    with tf1.variable_scope("sn/layer", reuse=True):
        normed = spectral_norm.spectral_normed(w)  # the official code's way: divide the weight, then use it
    reference = {"conv2d": lambda: tf.nn.conv2d(x, normed, [1, 2, 2, 1], "SAME"),
                 "deconv2d": lambda: tf.nn.conv2d_transpose(x, normed, [2, 14, 14, 8], [1, 2, 2, 1], "SAME"),
                 "linear": lambda: tf.matmul(flat, normed),
                 "conv1x1": lambda: tf.nn.conv2d(x, normed, [1, 1, 1, 1], "SAME")}[layer]()
    if bias:
        reference += bias[0]
    sess.run(tf1.global_variables_initializer())
    for v in bias:
        sess.run(v.assign(rng.normal(size=v.shape.as_list())))
    weighting = tf.constant(rng.normal(size=layer_out.shape.as_list()).astype(np.float32))
    grads = [tf.gradients(tf.reduce_sum(out * weighting), w)[0] for out in (layer_out, reference)]
    got = sess.run({"out": [layer_out, reference], "grad": grads})
    np.testing.assert_allclose(*got["out"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(*got["grad"], rtol=1e-3, atol=1e-4 * np.abs(got["grad"][1]).max())


def test_hinge_losses_match_hand_computed_values(sess):
    real = tf.constant([[2.0], [0.5], [-1.0]])
    fake = tf.constant([[-2.0], [0.25], [1.5]])
    d_real, d_fake = losses.hinge_d_losses(real, fake)
    g = losses.hinge_g_loss(fake)
    got = sess.run([d_real, d_fake, g])
    # relu(1 - [2, .5, -1]) = [0, .5, 2]; relu(1 + [-2, .25, 1.5]) = [0, 1.25, 2.5]; -mean([-2, .25, 1.5])
    np.testing.assert_allclose(got, [2.5 / 3, 3.75 / 3, 0.25 / 3], rtol=1e-6)


def _max_pool_2x2(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


@pytest.mark.parametrize("side", [7, 14])
def test_paper_attention_matches_numpy_with_pooling_where_the_sides_are_even(sess, side):
    x_value = np.random.default_rng(3).normal(size=(2, side, side, 32)).astype(np.float32)
    out = paper_attention(tf.constant(x_value), scope="att")
    (beta,) = tf1.get_collection(ops.ATTENTION_MAPS)
    sess.run(tf1.global_variables_initializer())
    sess.run(tf1.global_variables("att/sigma")[0].assign([0.6]))
    w = {v.op.name.split("/")[1]: sess.run(v)[0, 0] for v in tf1.global_variables("att/") if v.op.name.endswith("/w")}
    assert {k: v.shape for k, v in w.items()} == {"theta": (32, 4), "phi": (32, 4), "g": (32, 16), "o": (16, 32)}
    theta, phi, g = (x_value @ w[k] for k in ("theta", "phi", "g"))
    if side % 2 == 0:
        phi, g = _max_pool_2x2(phi), _max_pool_2x2(g)
    theta, phi, g = (t.reshape(2, -1, t.shape[-1]) for t in (theta, phi, g))
    s = theta @ phi.transpose(0, 2, 1)
    expected_beta = np.exp(s - s.max(-1, keepdims=True))
    expected_beta /= expected_beta.sum(-1, keepdims=True)
    expected = x_value + 0.6 * ((expected_beta @ g).reshape(2, side, side, 16) @ w["o"])
    got_out, got_beta, got_share = sess.run([out, beta] + tf1.get_collection(ops.ATTENTION_SHARES))
    assert got_share == pytest.approx(np.linalg.norm(expected - x_value) / np.linalg.norm(x_value), rel=1e-4)
    assert got_beta.shape == (2, side * side, (side // 2) ** 2 if side % 2 == 0 else side * side)
    np.testing.assert_allclose(got_beta, expected_beta, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_out, expected, rtol=1e-4, atol=1e-4)


def test_paper_attention_with_zero_sigma_is_the_identity(sess):
    x_value = np.random.default_rng(4).normal(size=(3, 14, 14, 64)).astype(np.float32)
    with spectral_normed_scope():
        out = paper_attention(tf.constant(x_value), scope="att")
    sess.run(tf1.global_variables_initializer())
    np.testing.assert_array_equal(sess.run(out), x_value)
