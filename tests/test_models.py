"""GAN.py and SAGAN.py: parameter counts, variable names, and that the fused step is the literal one."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from GAN import GAN
from SAGAN import SAGAN
from config import ModelConfig
from common.graph import load_values
from training import streams
from training.runner import Runner

tf1 = tf.compat.v1


def count(variables):
    return sum(int(np.prod(v.shape.as_list())) for v in variables)


def build(model_class, sess=None, build_now=True, **flags):
    """A model of the default configuration changed by flags, its training graph built when build_now; given a
    session, the Runner that runs it."""
    model = model_class(ModelConfig(gan_type=model_class.model_name, **flags))
    if not build_now:
        return model
    model.build_model()
    return model if sess is None else Runner(model, sess)


@pytest.fixture(scope="session")
def built():
    """built(model_class, train_step='fused') -> (graph, model): a model of the default config with its training graph
    built once per test session, shared by every test that only inspects it."""
    cache = {}

    def get(model_class, train_step="fused"):
        key = (model_class, train_step)
        if key not in cache:
            graph = tf.Graph()
            with graph.as_default():
                cache[key] = graph, build(model_class, train_step=train_step)
        return cache[key]
    return get


@pytest.mark.parametrize("model_class, g_params, d_params",
                         [(GAN, 6_640_193, 6_559_169), (SAGAN, 6_968_354, 6_887_330)])
def test_trainable_parameter_counts(built, model_class, g_params, d_params):
    _, model = built(model_class)
    assert (count(model.g_vars), count(model.d_vars)) == (g_params, d_params)
    assert model.count_parameters() == (g_params, d_params)  # the nets alone, as compare counts them


@pytest.mark.parametrize("model_class", [GAN, SAGAN])
def test_d_and_g_variables_are_disjoint_and_cover_every_trainable_variable(built, model_class):
    graph, model = built(model_class)
    with graph.as_default():
        g, d = set(model.g_vars), set(model.d_vars)
        assert not g & d
        assert g | d == set(tf1.trainable_variables())
        assert all(v.op.name.startswith("generator/") for v in g)
        assert all(v.op.name.startswith("discriminator/") for v in d)


def test_sagan_is_gan_plus_the_two_attention_blocks(built):
    names = {}
    for model_class in (GAN, SAGAN):
        graph, _ = built(model_class)
        with graph.as_default():
            names[model_class] = {v.op.name: v.shape.as_list() for v in tf1.trainable_variables()}
    added = set(names[SAGAN]) - set(names[GAN])
    assert set(names[GAN]) <= set(names[SAGAN])
    assert all(names[GAN][n] == names[SAGAN][n] for n in names[GAN])
    assert all(n.startswith(("generator/attention/", "discriminator/attention/")) for n in added)
    assert "discriminator/attention/g_conv/w" in added
    assert {"generator/attention/gamma", "discriminator/attention/gamma"} <= added


@pytest.mark.parametrize("model_class", [GAN, SAGAN])
def test_sampling_changes_no_variable_and_any_batch_size_works(model_class):
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(model_class, sess, batch_size=8)
        sess.run(tf1.global_variables_initializer())
        before = sess.run(tf1.global_variables())
        for n in (1, 3, 70):
            images = sess.run(model.model.fake_images, {model.model.z: np.random.uniform(-1, 1, (n, 62))})
            assert images.shape == (n, 28, 28, 1)
            assert 0 <= images.min() and images.max() <= 1
        after = sess.run(tf1.global_variables())
        for b, a in zip(before, after):
            np.testing.assert_array_equal(b, a)


def test_training_step_updates_bn_moving_statistics():
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(SAGAN, sess, batch_size=8)
        sess.run(tf1.global_variables_initializer())
        # The averaged G takes standing statistics when used, never in a step.
        moving = [v for v in tf1.global_variables() if "moving_mean" in v.op.name and "generator_ema/" not in v.op.name]
        before = sess.run(moving)
        model.run_train_step(np.random.rand(8, 28, 28, 1), streams.batch_z(model.config, 0))
        assert all(np.any(b != a) for b, a in zip(before, sess.run(moving)))


def train_from(model_class, train_step, initial, batches, zs, **flags):
    """Build with --train_step, load the initial values by name, train on each batch; losses and final values."""
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(model_class, sess, batch_size=8, train_step=train_step, **flags)
        variables = {v.op.name: v for v in tf1.global_variables()}
        if initial is None:
            sess.run(tf1.global_variables_initializer())
        else:
            assert set(variables) == set(initial)  # a checkpoint of either step restores in the other
            load_values(sess, {v: initial[name] for name, v in variables.items()})
        before = dict(zip(variables, sess.run(list(variables.values()))))
        losses = [model.run_train_step(batch, z) for batch, z in zip(batches, zs)]
        return before, losses, dict(zip(variables, sess.run(list(variables.values()))))


def random_batches(steps, batch_size=8):
    rng = np.random.default_rng(0)
    return (rng.random((steps, batch_size, 28, 28, 1), dtype=np.float32),
            rng.uniform(-1, 1, (steps, batch_size, 62)).astype(np.float32))


@pytest.mark.trains
def test_fused_step_gives_the_literal_steps_losses_and_weights(model_class=SAGAN):
    """The two schedules of the same kernels: one session.run, or the framework's two with G recomputed.

    SAGAN's nets are GAN's with attention in its slots, and the schedules are the same for both: SAGAN's
    equivalence holds GAN's too."""
    batches, zs = random_batches(1)
    initial, literal_losses, literal = train_from(model_class, "literal", None, batches, zs)
    _, fused_losses, fused = train_from(model_class, "fused", initial, batches, zs)
    for literal_step, fused_step in zip(literal_losses, fused_losses):
        assert literal_step.keys() == fused_step.keys()
        for k in literal_step:
            np.testing.assert_allclose(fused_step[k], literal_step[k], rtol=1e-5, err_msg=k)
    changed = set()
    for name in literal:
        # D's batch norm updates its averages from D(real) and D(fake) in parallel, in either order,
        # in both steps; every other variable, G's averages included, must agree.
        if name.startswith("discriminator/") and "/moving_" in name and "Adam" not in name:
            continue
        if is_pre_bn_bias(name.split("/Adam")[0]):
            continue  # its gradient is 0 plus rounding noise, which Adam scales up to a full step
        # Those biases shift the batch means, and so the moving means, by up to 0.19 * 2 * lr a step.
        atol = 2e-4 if name.endswith("/moving_mean") else 1e-6
        off = ~np.isclose(fused[name], literal[name], rtol=1e-4, atol=atol)
        # Adam divides each gradient by its own running size, so the rare element whose gradient is
        # near rounding noise can step differently; by no more than Adam's step bound, 2 * lr a step.
        assert off.mean() < ROUNDING_FLIPS_AT_MOST, (name, off.mean())
        assert np.all(np.abs(fused[name] - literal[name]) <= 2 * 1e-3 * len(batches) + atol), name
        if np.any(literal[name] != initial[name]):
            changed.add(name)
    # The steps did train: G's weights, its moving averages and the step counter moved.
    assert {"generator/g_fc1/Matrix", "generator/g_bn1/moving_mean", "global_step"} <= changed


# Two steps from the same weights: where an element's gradient is rounding noise, Adam's first step
# (lr * g / |g|) can take either sign. Measured share of such elements in one variable: at most 0.1% with
# AVX-512 (Xeon); with AVX2 only (AMD EPYC), 1.6% here and 3.5% in test_replicas (36 of g_bn1/beta's 1,024).
# A step on another batch, standing in for a wrong gradient, puts at least 15% of each variable elsewhere.
ROUNDING_FLIPS_AT_MOST = 0.1


def is_pre_bn_bias(name):
    """A bias that batch norm subtracts again (the framework's layers keep one)."""
    layers = {"g_fc1", "g_fc2", "g_dc3", "d_conv2", "d_fc3", "f_conv", "g_conv", "h_conv"}
    return name.endswith(("/biases", "/bias")) and name.split("/")[-2] in layers


@pytest.mark.parametrize("model_class", [GAN, SAGAN])
@pytest.mark.parametrize("train_step", ["fused", "literal"])
def test_variable_names_and_shapes_are_those_old_checkpoints_hold(built, model_class, train_step):
    """The list was taken from the code before the reshape into modules; a rename would orphan checkpoints.

    Since then every run also keeps the averaged G, whose variables are the only ones added.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoint_variables.json")
    with open(path) as f:
        expected = json.load(f)[model_class.model_name]
    graph, _ = built(model_class, train_step)
    with graph.as_default():
        assert sorted(v.op.name for v in tf1.trainable_variables()) == expected["trainable"]
        ours = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
        assert {name: ours.get(name) for name in expected["global"]} == expected["global"]
        added = set(ours) - set(expected["global"])
        assert added and all(name.startswith("generator_ema/") for name in added)
        # One averaged copy of each of G's variables, batch-norm averages included.
        raw_g = {n for n in expected["global"] if n.startswith("generator/") and "Adam" not in n}
        assert {n.replace("generator_ema/", "generator/", 1) for n in added} == raw_g


def test_ds_first_step_on_a_black_background_is_the_frameworks(monkeypatch):
    """D's gradient at step 1 on a real batch whose background is exactly 0, against the same D built with the
    framework's lrelu, tf.maximum(x, 0.2 x): with d_conv1's biases at 0 most of its values sit at the kink, where
    tf.nn.leaky_relu's gradient (0.2) is not the framework's (1)."""
    import GAN as gan_module
    rng = np.random.default_rng(3)
    batch = np.zeros((16, 28, 28, 1), np.float32)
    batch[:, 8:20, 10:18] = rng.uniform(0.5, 1.0, (16, 12, 8, 1))  # a stroke on black, as MNIST's digits are

    def d_gradients(lrelu=None, values=None):
        if lrelu is not None:
            monkeypatch.setattr(gan_module, "lrelu", lrelu)
        with tf.Graph().as_default(), tf1.Session() as sess:
            tf1.set_random_seed(0)
            model = build(GAN, sess, build_now=False)
            logit = model.discriminator(tf.constant(batch), is_training=True)[1]
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=logit, labels=tf.ones_like(logit)))
            variables = tf1.trainable_variables("discriminator/")
            sess.run(tf1.global_variables_initializer())
            if values is not None:
                load_values(sess, {v: values[v.op.name] for v in variables})
            named = {v.op.name: v for v in variables}
            return sess.run(named), sess.run(dict(zip(named, tf.gradients(loss, variables))))
        monkeypatch.undo()

    values, ours = d_gradients()
    _, framework = d_gradients(lambda x, leak=0.2, name="lrelu": tf.maximum(x, leak * x, name=name), values)
    at_zero = framework["discriminator/d_conv1/biases"]
    assert np.abs(at_zero).max() > 0
    for name, gradient in framework.items():
        np.testing.assert_allclose(ours[name], gradient, rtol=1e-4, atol=1e-5 * np.abs(gradient).max(),
                                   err_msg=name)
