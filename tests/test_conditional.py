"""--conditional: conditional batch norm, the projection discriminator, labels through training and sampling."""
import numpy as np
import pytest
import tensorflow as tf

import ops
from extensions.conditional import ConditionalBatchNorm, projection
from training import samples, streams
from SAGAN import SAGAN
from test_models import build, random_batches

tf1 = tf.compat.v1


@pytest.mark.parametrize("shape", [(16, 8), (16, 5, 5, 8)])
def test_conditional_bn_of_one_class_is_plain_bn_with_that_classs_gamma_and_beta(sess, shape):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, shape).astype(np.float32))
    labels = tf.constant(np.full(shape[0], 3, np.int32))
    conditional = ConditionalBatchNorm(10)(x, labels, True, scope="cbn")
    plain = ops.bn(x, True, scope="bn")
    with tf1.variable_scope("", reuse=True):
        tables = {name: tf1.get_variable(f"cbn/{name}") for name in ("gamma", "beta")}
        vectors = {name: tf1.get_variable(f"bn/{name}") for name in ("gamma", "beta")}
    assert tables["gamma"].shape.as_list() == [10, 8] and vectors["gamma"].shape.as_list() == [8]
    sess.run(tf1.global_variables_initializer())
    gamma, beta = rng.normal(1, 0.3, (10, 8)).astype(np.float32), rng.normal(0, 0.3, (10, 8)).astype(np.float32)
    sess.run([tables["gamma"].assign(gamma), tables["beta"].assign(beta),
              vectors["gamma"].assign(gamma[3]), vectors["beta"].assign(beta[3])])
    np.testing.assert_allclose(*sess.run([conditional, plain]), rtol=1e-5, atol=1e-5)
    # The moving averages are shared by the classes: the same as plain bn's.
    with tf1.variable_scope("", reuse=True):
        shared = sess.run([tf1.get_variable("cbn/moving_mean"), tf1.get_variable("bn/moving_mean")])
    np.testing.assert_allclose(*shared, rtol=1e-6)


def test_conditional_bn_gives_each_image_its_own_classs_gamma_and_beta(sess):
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32))
    out = ConditionalBatchNorm(3)(x, tf.constant([0, 1, 0, 2], tf.int32), True, scope="cbn")
    sess.run(tf1.global_variables_initializer())
    with tf1.variable_scope("", reuse=True):
        sess.run(tf1.get_variable("cbn/beta").assign(np.array([[0.0] * 6, [10.0] * 6, [20.0] * 6], np.float32)))
    values = sess.run(out)
    normalised = (sess.run(x) - sess.run(x).mean(0)) / np.sqrt(sess.run(x).var(0) + ops.BN_EPSILON)
    np.testing.assert_allclose(values, normalised + np.array([[0.0], [10.0], [0.0], [20.0]]), rtol=1e-4, atol=1e-4)


def test_the_projection_term_matches_numpy(sess):
    rng = np.random.default_rng(2)
    features = rng.normal(size=(5, 12)).astype(np.float32)
    labels = np.array([0, 9, 3, 3, 7], np.int32)
    term = projection(tf.constant(features), tf.constant(labels), 10)
    sess.run(tf1.global_variables_initializer())
    with tf1.variable_scope("", reuse=True):
        embedding = sess.run(tf1.get_variable("d_projection/embedding"))
    assert embedding.shape == (10, 12)
    np.testing.assert_allclose(sess.run(term), (embedding[labels] * features).sum(1, keepdims=True), rtol=1e-5)


def test_a_conditional_sagan_conditions_every_bn_of_g_and_projects_in_d():
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(SAGAN, sess, batch_size=8, conditional=True)
        shapes = {v.op.name: v.shape.as_list() for v in tf1.trainable_variables()}
        g_gammas = {n: s for n, s in shapes.items() if n.startswith("generator/") and n.endswith("/gamma")
                    and "attention/gamma" not in n}
        # G's three and the article's attention block's f, g and h batch norms: per-class tables.
        assert {n.split("/")[-2] for n in g_gammas} == {"g_bn1", "g_bn2", "g_bn3", "f_bn", "g_bn", "h_bn"}
        assert all(s[0] == 10 for s in g_gammas.values())
        d_gammas = {n: s for n, s in shapes.items() if n.startswith("discriminator/") and n.endswith("/gamma")
                    and "attention/gamma" not in n}
        assert d_gammas and all(len(s) == 1 for s in d_gammas.values())  # D's stay plain
        assert shapes["discriminator/d_projection/embedding"] == [10, 1024]
        averaged = {w.op.name for w, _ in model.model.averaged.pairs}
        assert {"generator/g_bn1/gamma", "generator/attention/h_bn/beta"} <= averaged  # the tables are averaged too
        model.initialize()
        batches, zs = random_batches(2)
        labels = (np.arange(8, dtype=np.int32) % 10, streams.batch_labels(model.config, 0))
        losses = [model.run_train_step(b, z, labels=labels) for b, z in zip(batches, zs)]
        assert all(np.isfinite(v) for step in losses for v in step.values())
        sevens = samples.draw(model, 20, "ema", digit=7)
        assert sevens.shape == (20, 28, 28, 1) and sevens.dtype == np.uint8
        assert list(streams.sample_labels(model.config, 12)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
        z, grid_labels, columns = streams.grid_inputs(model.config)
        assert columns == 10 and list(grid_labels[:12]) == [0] * 10 + [1] * 2
        np.testing.assert_array_equal(z[:10], z[10:20])  # each column one z through every class


@pytest.mark.e2e
def test_a_conditional_run_trains_samples_a_digit_and_evaluates(workdir, run_main, monkeypatch, capsys):
    import json
    from utils import load_samples
    # A conditional run's exact resume: test_end_to_end's test_interrupted_and_resumed_run_matches_an_uninterrupted_one.
    assert run_main("--gan_type", "SAGAN", "--conditional", epoch=1, eval_every=1) == 0
    results = workdir / "results" / "SAGAN_mnist_8_62_cond"
    assert json.loads((results / "config.json").read_text())["model"]["conditional"] is True
    import imageio.v2 as imageio
    assert imageio.imread(results / "epoch_001.png").shape == (280, 280)  # a row per digit, ten z
    assert run_main("--gan_type", "SAGAN", "--conditional", "--phase", "sample", "--num_samples", 30,
                    "--digit", 7) == 0
    images, about = load_samples(str(results / "samples_digit7.npz"))
    assert images.shape == (30, 28, 28, 1) and list(about["labels"]) == [7] * 30
    # G's maps need the labels it draws; D's block sits before the projection. The raw G's maps are drawn as the
    # averaged G's are (test_end_to_end's test_attention_phase_draws_both_blocks draws them).
    assert run_main("--gan_type", "SAGAN", "--conditional", "--phase", "attention", "--weights", "ema") == 0
    assert (results / "attention_generator_ema.png").exists() and (results / "attention_discriminator.png").exists()
    assert run_main("--gan_type", "SAGAN", "--conditional", "--phase", "sample", "--num_samples", 20) == 0
    _, about = load_samples(str(results / "samples.npz"))
    assert np.bincount(about["labels"], minlength=10).tolist() == [2] * 10  # the ten classes equally
    assert imageio.imread(results / "samples.png").shape == (280, 56)  # a row per digit
    capsys.readouterr()
    assert run_main("--gan_type", "SAGAN", "--conditional", "--phase", "eval", "--num_eval_samples", 100) == 0
    metrics = json.loads((results / "metrics.json").read_text())["model_ema"]
    assert np.isfinite(metrics["fcd"]) and 0 <= metrics["label_accuracy"] <= 1 and 0 <= metrics["cas"] <= 1
    assert len(metrics["intra_fcd_per_class"]) == 10  # None for classes with too few reference images, as here
    out = capsys.readouterr().out
    assert "averaged G: label accuracy" in out and "a classifier trained on its samples reads" in out
    # A samples file that carries its labels gets the label accuracy and intra-class FCD too.
    assert run_main("--phase", "eval", "--samples", results / "samples.npz", "--num_eval_samples", 100) == 0
    assert "raw G: label accuracy" in capsys.readouterr().out


def test_label_accuracy_and_intra_class_fcd_on_a_stand_in_classifier():
    from evaluation import conditional
    from test_yardstick import PixelClassifier, blob_images
    from evaluation.yardstick import Yardstick
    rng = np.random.default_rng(0)
    images = blob_images(rng, 2800)
    classes = PixelClassifier().features_and_probs(images)[1].argmax(1)  # the stand-in's own reading
    yardstick = Yardstick(PixelClassifier(), images, classes)
    fresh = blob_images(np.random.default_rng(1), 500)
    right = PixelClassifier().features_and_probs(fresh)[1].argmax(1)
    assert conditional.label_accuracy(yardstick, fresh, right) == 1.0
    assert conditional.label_accuracy(yardstick, fresh, (right + 1) % 10) == 0.0
    honest = conditional.intra_class_fcd(yardstick, fresh, right)
    swapped = conditional.intra_class_fcd(yardstick, fresh, (right + 1) % 10)
    assert honest["intra_fcd_multiple"] < swapped["intra_fcd_multiple"]  # the wrong class is far from its own
    assert len(honest["intra_fcd_per_class"]) == 10
