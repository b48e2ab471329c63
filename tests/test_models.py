"""GAN.py and SAGAN.py: parameter counts, variable splits, and that sampling changes nothing."""
import argparse

import numpy as np
import pytest
import tensorflow as tf

from GAN import GAN
from SAGAN import SAGAN
from main import parse_args

tf1 = tf.compat.v1


def count(variables):
    return sum(int(np.prod(v.shape.as_list())) for v in variables)


def build(model_class, sess=None, **flags):
    args = parse_args(["--gan_type", model_class.model_name] + [f"--{k}={v}" for k, v in flags.items()])
    model = model_class(sess, args, images=None)
    model.build_model()
    return model


@pytest.mark.parametrize("model_class, g_params, d_params",
                         [(GAN, 6_640_193, 6_559_169), (SAGAN, 6_968_354, 6_887_330)])
def test_trainable_parameter_counts(model_class, g_params, d_params):
    with tf.Graph().as_default():
        model = build(model_class)
        assert (count(model.g_vars), count(model.d_vars)) == (g_params, d_params)


@pytest.mark.parametrize("model_class", [GAN, SAGAN])
def test_d_and_g_variables_are_disjoint_and_cover_every_trainable_variable(model_class):
    with tf.Graph().as_default():
        model = build(model_class)
        g, d = set(model.g_vars), set(model.d_vars)
        assert not g & d
        assert g | d == set(tf1.trainable_variables())
        assert all(v.op.name.startswith("generator/") for v in g)
        assert all(v.op.name.startswith("discriminator/") for v in d)


def test_sagan_is_gan_plus_the_two_attention_blocks():
    names = {}
    for model_class in (GAN, SAGAN):
        with tf.Graph().as_default():
            build(model_class)
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
            images = sess.run(model.fake_images, {model.z: np.random.uniform(-1, 1, (n, 62))})
            assert images.shape == (n, 28, 28, 1)
            assert 0 <= images.min() and images.max() <= 1
        after = sess.run(tf1.global_variables())
        for b, a in zip(before, after):
            np.testing.assert_array_equal(b, a)


def test_training_step_updates_bn_moving_statistics():
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(SAGAN, sess, batch_size=8)
        sess.run(tf1.global_variables_initializer())
        moving = [v for v in tf1.global_variables() if "moving_mean" in v.op.name]
        before = sess.run(moving)
        sess.run(model.d_optim, {model.inputs: np.random.rand(8, 28, 28, 1), model.z: model.batch_z(0)[:8]})
        assert all(np.any(b != a) for b, a in zip(before, sess.run(moving)))
