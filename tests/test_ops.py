"""ops.py: shapes, attention against numpy, batch norm in both modes."""
import numpy as np
import pytest
import tensorflow as tf

import ops
from extensions import mixed_precision, spectral_norm

tf1 = tf.compat.v1


def with_getter(custom_getter):
    """The current variable scope again, its variables read through custom_getter (as a net's scope installs it)."""
    return tf1.variable_scope(tf1.get_variable_scope(), custom_getter=custom_getter)


def test_layer_shapes_follow_a_dynamic_batch(sess):
    x = tf1.placeholder(tf.float32, [None, 28, 28, 1])
    z = tf1.placeholder(tf.float32, [None, 62])
    c = ops.conv2d(x, 64, 4, 4, 2, 2, name="c")
    d = ops.deconv2d(c, [None, 28, 28, 3], 4, 4, 2, 2, name="d")
    fc = ops.linear(z, 10, scope="fc")
    flat = ops.hw_flatten(c)
    assert c.shape.as_list() == [None, 14, 14, 64]
    assert d.shape.as_list() == [None, 28, 28, 3]
    assert flat.shape.as_list() == [None, 196, 64]
    sess.run(tf1.global_variables_initializer())
    for batch in (1, 5):
        outs = sess.run([c, d, fc, flat], {x: np.zeros((batch, 28, 28, 1)), z: np.zeros((batch, 62))})
        assert [o.shape for o in outs] == [(batch, 14, 14, 64), (batch, 28, 28, 3), (batch, 10), (batch, 196, 64)]


def test_initialisers_match_the_framework(sess):
    x = tf1.placeholder(tf.float32, [None, 8, 8, 64])
    ops.conv2d(x, 256, 4, 4, 1, 1, name="c")
    ops.linear(tf1.placeholder(tf.float32, [None, 512]), 512, scope="fc")
    sess.run(tf1.global_variables_initializer())
    values = {v.op.name: sess.run(v) for v in tf1.global_variables()}
    assert np.abs(values["c/w"]).max() <= 2 * 0.02 + 1e-6  # truncated at two stddevs
    assert 0.017 < values["c/w"].std() < 0.0183  # 0.88 stddev once truncated
    assert 0.019 < values["fc/Matrix"].std() < 0.021
    assert not values["c/biases"].any() and not values["fc/bias"].any()


def test_lrelu_leaks_one_fifth(sess):
    assert sess.run(ops.lrelu(tf.constant([-1.0, 2.0]))).tolist() == pytest.approx([-0.2, 2.0])


def _conv_same(x, w, b):
    """numpy 2-D convolution, stride 1, TF's SAME padding."""
    k = w.shape[0]
    pad = ((k - 1) // 2, k - 1 - (k - 1) // 2)
    xp = np.pad(x, ((0, 0), pad, pad, (0, 0)))
    height, width = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (w.shape[3],))
    for i in range(height):
        for j in range(width):
            out[:, i, j] = np.einsum("bhwc,hwcd->bd", xp[:, i:i + k, j:j + k], w)
    return out + b


def _bn_train(x, beta, gamma, eps=1e-5):
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def attention(x, is_training=True, scope="attention", reuse=False):
    """SAGAN's attention, the article's method, which reads nothing of its model."""
    from SAGAN import SAGAN
    return SAGAN.attention(None, x, is_training=is_training, scope=scope, reuse=reuse)


def test_attention_matches_numpy(sess):
    x_value = np.random.default_rng(0).normal(size=(2, 4, 4, 128)).astype(np.float32)
    x = tf.constant(x_value)
    out = attention(x, is_training=True, scope="attention")
    (beta,) = tf1.get_collection(ops.ATTENTION_MAPS)
    (share,) = tf1.get_collection(ops.ATTENTION_SHARES)
    sess.run(tf1.global_variables_initializer())
    gamma = tf1.global_variables("attention/gamma")[0]
    sess.run(gamma.assign([0.7]))
    # Perturb bn's beta and gamma so that they are exercised too.
    for v in tf1.trainable_variables("attention/"):
        if v.op.name.endswith("_bn/beta") or v.op.name.endswith("_bn/gamma"):
            sess.run(v.assign(v + np.random.default_rng(1).normal(0, 0.1, v.shape.as_list())))
    vals = {v.op.name.split("/", 1)[1]: sess.run(v) for v in tf1.global_variables("attention/")}
    got_out, got_beta, got_share = sess.run([out, beta, share])

    def branch(name):
        conv = _conv_same(x_value, vals[f"{name}_conv/w"], vals[f"{name}_conv/biases"])
        return np.maximum(_bn_train(conv, vals[f"{name}_bn/beta"], vals[f"{name}_bn/gamma"]), 0)
    f, g, h = (branch(n).reshape(2, 16, -1) for n in "fgh")
    assert f.shape == (2, 16, 16) and h.shape == (2, 16, 128)  # C//8 and C channels
    s = g @ f.transpose(0, 2, 1)
    expected_beta = np.exp(s - s.max(-1, keepdims=True))
    expected_beta /= expected_beta.sum(-1, keepdims=True)
    expected = x_value + 0.7 * (expected_beta @ h).reshape(x_value.shape)
    np.testing.assert_allclose(got_beta, expected_beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_out, expected, rtol=1e-4, atol=1e-4)
    assert got_share == pytest.approx(np.linalg.norm(expected - x_value) / np.linalg.norm(x_value), rel=1e-4)


def test_attention_with_zero_gamma_is_identity_and_rows_sum_to_one(sess):
    x_value = np.random.default_rng(2).normal(size=(3, 7, 7, 128)).astype(np.float32)
    x = tf1.placeholder(tf.float32, [None, 7, 7, 128])
    out = attention(x, is_training=False, scope="attention")
    (beta,) = tf1.get_collection(ops.ATTENTION_MAPS)
    (share,) = tf1.get_collection(ops.ATTENTION_SHARES)
    assert beta.name == "attention/beta:0"
    sess.run(tf1.global_variables_initializer())
    got_out, got_beta, got_share = sess.run([out, beta, share], {x: x_value})
    np.testing.assert_array_equal(got_out, x_value)
    assert got_share == 0
    assert got_beta.shape == (3, 49, 49)
    np.testing.assert_allclose(got_beta.sum(-1), 1.0, rtol=1e-5)


def test_bn_uses_batch_statistics_and_updates_moving_averages_only_in_training(sess):
    x = tf1.placeholder(tf.float32, [None, 3])
    train_out = ops.bn(x, True, scope="bn")
    test_out = ops.bn(x, False, scope="bn_test")  # separate variables: its averages stay at 0 and 1
    with tf1.variable_scope("", reuse=True):
        moving_mean = tf1.get_variable("bn/moving_mean")
        moving_var = tf1.get_variable("bn/moving_variance")
    trainable = {v.op.name for v in tf1.trainable_variables()}
    assert {"bn/beta", "bn/gamma"} <= trainable and "bn/moving_mean" not in trainable
    sess.run(tf1.global_variables_initializer())
    data = np.random.default_rng(3).normal(5.0, 2.0, size=(64, 3)).astype(np.float32)  # as G's FC layers see
    out = sess.run(train_out, {x: data})
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-3)  # normalised by the biased variance
    mean, var = sess.run([moving_mean, moving_var])
    np.testing.assert_allclose(mean, 0.1 * data.mean(0), rtol=1e-4)  # decay 0.9
    # The fused kernel's update: the variance times 64 / 63, 1.6% more than the biased one.
    np.testing.assert_allclose(var, 0.9 + 0.1 * data.var(0, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(sess.run(test_out, {x: data}), data / np.sqrt(1 + 1.001e-5), rtol=1e-6)


def test_attention_query_maps_follow_the_rows_of_beta():
    from evaluation import attention_maps
    beta = np.zeros((1, 49, 49))
    beta[0, 3 * 7 + 4, 6 * 7 + 0] = 1.0  # query (3, 4) looks only at position (6, 0)
    maps = attention_maps.query_maps(beta, [(3, 4)])
    assert maps.shape == (1, 1, 28, 28)
    assert maps[0, 0, 24:28, 0:4].min() == 1.0 and maps[0, 0].sum() == 16
    assert attention_maps.mean_entropy(np.full((2, 49, 49), 1 / 49)) == pytest.approx(np.log(49))


def reference_bn(x, gamma, beta, axes):
    """Batch norm by tf.nn.moments and tf.nn.batch_normalization, differentiated by TensorFlow: the unfused route
    that ops.bn's hand-written gradient replaces."""
    mean, variance = tf.nn.moments(x, axes=axes, keepdims=True)
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, ops.BN_EPSILON)


@pytest.mark.parametrize("shape", [(16, 32), (8, 7, 7, 16)])
def test_handwritten_bn_gradient_matches_tf_nn_moments_in_value_statistics_and_gradients(sess, shape):
    rng = np.random.default_rng(4)
    data = rng.normal(3.0, 2.0, size=shape).astype(np.float32)
    x = tf.constant(data)
    upstream = tf.constant(rng.normal(size=shape).astype(np.float32))  # a generic loss: sum(upstream * y)
    out = ops.bn(x, True, scope="bn")
    with tf1.variable_scope("bn", reuse=True):
        gamma, beta = tf1.get_variable("gamma"), tf1.get_variable("beta")
        moving = [tf1.get_variable("moving_mean"), tf1.get_variable("moving_variance")]
    reference = reference_bn(x, gamma, beta, list(range(len(shape) - 1)))
    sess.run(tf1.global_variables_initializer())
    sess.run([gamma.assign(rng.normal(1.0, 0.3, shape[-1])), beta.assign(rng.normal(0.0, 0.3, shape[-1]))])
    grads = {name: tf.gradients(tf.reduce_sum(y * upstream), [x, gamma, beta])
             for name, y in (("ours", out), ("reference", reference))}
    got = sess.run({"out": out, "reference": reference, "grads": grads})
    np.testing.assert_allclose(got["out"], got["reference"], rtol=1e-5, atol=1e-5)
    for name, a, b in zip(("x", "gamma", "beta"), got["grads"]["ours"], got["grads"]["reference"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max(), err_msg=name)
    # After exactly one training-mode pass: one step of decay 0.9 towards the batch mean and unbiased variance.
    flat = data.reshape(-1, shape[-1])
    np.testing.assert_allclose(sess.run(moving[0]), 0.1 * flat.mean(0), rtol=1e-5)
    np.testing.assert_allclose(sess.run(moving[1]), 0.9 + 0.1 * flat.var(0, ddof=1), rtol=1e-5)


def test_bn_in_two_batch_parts_is_two_passes_over_the_halves(sess):
    rng = np.random.default_rng(6)
    halves = [rng.normal(mu, 2.0, size=(4, 7, 7, 8)).astype(np.float32) for mu in (3.0, -1.0)]
    x = tf.constant(np.concatenate(halves))
    upstream = tf.constant(rng.normal(size=(8, 7, 7, 8)).astype(np.float32))
    grouped = ops.BatchNorm(parts=2)(x, True, scope="grouped")
    with tf1.variable_scope("apart", reuse=tf1.AUTO_REUSE):  # the same variables for both halves
        apart = tf.concat([ops.bn(x[:4], True, scope="bn"), ops.bn(x[4:], True, scope="bn")], 0)
    outputs = {"grouped": grouped, "apart": apart}
    params = {name: [v for v in tf1.global_variables(name + "/") if v.op.name.endswith(("gamma", "beta"))]
              for name in outputs}
    moving = [v for v in tf1.global_variables("grouped/") if "moving" in v.op.name]
    sess.run(tf1.global_variables_initializer())
    for a, b in zip(params["grouped"], params["apart"]):
        value = rng.normal(1.0, 0.3, 8)
        sess.run([a.assign(value), b.assign(value)])
    grads = {name: tf.gradients(tf.reduce_sum(out * upstream), [x, *params[name]]) for name, out in outputs.items()}
    got = sess.run({"out": outputs, "grads": grads})
    np.testing.assert_allclose(got["out"]["grouped"], got["out"]["apart"], rtol=1e-5, atol=1e-5)
    for a, b in zip(got["grads"]["grouped"], got["grads"]["apart"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
    # One pass moved each average once per half, the first half first.
    expected = {"moving_mean": 0.0, "moving_variance": 1.0}
    for half in halves:
        stats = {"moving_mean": half.mean((0, 1, 2)), "moving_variance": half.var((0, 1, 2), ddof=1)}
        expected = {k: 0.9 * expected[k] + 0.1 * stats[k] for k in expected}
    for v in moving:
        np.testing.assert_allclose(sess.run(v), expected[v.op.name.split("/")[-1]], rtol=1e-5)


@pytest.mark.parametrize("normed", [False, True])
def test_sibling_convolutions_are_the_separate_convolutions(sess, normed):
    x = tf.constant(np.random.default_rng(7).normal(size=(3, 7, 7, 32)).astype(np.float32))
    getter = spectral_norm.normed_weights if normed else None
    with tf1.variable_scope("net", custom_getter=getter):
        together = ops.conv2d_siblings(x, [4, 4, 32], ["f", "g", "h"])
    with tf1.variable_scope("net", reuse=True, custom_getter=getter):
        apart = [ops.conv2d(x, dim, 4, 4, 1, 1, name=name) for dim, name in zip([4, 4, 32], "fgh")]
    kinds = ("biases", "u", "w") if normed else ("biases", "w")
    assert sorted(v.op.name for v in tf1.global_variables()) == [f"net/{n}/{k}" for n in "fgh" for k in kinds]
    sess.run(tf1.global_variables_initializer())
    for v in tf1.global_variables("net/"):
        if v.op.name.endswith("biases"):
            sess.run(v.assign(np.random.default_rng(8).normal(size=v.shape.as_list())))
    for a, b in zip(*sess.run([together, apart])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # and their gradients, into the input and into every variable, for a generic loss over the three outputs
    rng = np.random.default_rng(9)
    weights = [tf.constant(rng.normal(size=(3, 7, 7, d)).astype(np.float32)) for d in (4, 4, 32)]
    variables = [v for v in tf1.trainable_variables("net/")]
    grads = [tf.gradients(tf.add_n([tf.reduce_sum(w * o) for w, o in zip(weights, outs)]), [x, *variables])
             for outs in (together, apart)]
    for a, b in zip(*sess.run(grads)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())


def test_lrelu_is_the_frameworks_maximum_in_value_and_gradient_zero_included(sess):
    values = np.array([-3.0, -0.5, -1e-6, 0.0, -0.0, 1e-6, 0.5, 3.0], np.float32)
    x = tf.constant(values)
    outs = {"ops": ops.lrelu(x), "framework": tf.maximum(x, 0.2 * x)}  # the framework's lrelu, as the reference
    grads = {name: tf.gradients(out, x)[0] for name, out in outs.items()}
    got = sess.run({"out": outs, "grad": grads})
    assert got["out"]["ops"].tolist() == got["out"]["framework"].tolist()
    # at 0 (either sign) the gradient is 1, as TF1's Maximum gradient (x >= leak * x) gives it; leaky_relu's is 0.2
    assert got["grad"]["ops"].tolist() == got["grad"]["framework"].tolist() == pytest.approx([0.2] * 3 + [1.0] * 5)


def test_bfloat16_inputs_compute_in_bfloat16_on_float32_weights(sess):
    x = tf.constant(np.random.default_rng(5).normal(size=(4, 7, 7, 128)).astype(np.float32))
    with with_getter(mixed_precision.float32_storage):
        out16 = attention(tf.cast(x, tf.bfloat16), True, scope="att")
        out32 = attention(x, True, scope="att", reuse=True)
    assert out16.dtype == tf.bfloat16
    assert all(v.dtype.base_dtype == tf.float32 for v in tf1.global_variables())
    beta16, beta32 = tf1.get_collection(ops.ATTENTION_MAPS)[-2:]
    assert beta16.dtype == tf.float32  # softmax stays float32
    sess.run(tf1.global_variables_initializer())
    with tf1.variable_scope("att", reuse=True):
        sess.run(tf1.get_variable("gamma").assign([0.5]))
    a, b = sess.run([tf.cast(out16, tf.float32), out32])
    np.testing.assert_allclose(a, b, atol=0.1)  # bfloat16 keeps 8 significant bits
    assert np.abs(a - b).max() > 0  # and it did round
