"""The recipe options on whole models: the paper's step in both forms, the averaged G, old checkpoints."""
import os

import numpy as np
import pytest
import tensorflow as tf

from GAN import GAN
from SAGAN import SAGAN
from config import PAPER_RECIPE, Folders, ModelConfig, model_dir, parse_model_dir
from test_models import build, random_batches, train_from
from training import checkpoints
from training.runner import Runner
from utils import load_samples

tf1 = tf.compat.v1
PAPER = PAPER_RECIPE


@pytest.mark.trains
def test_fused_step_gives_the_literal_steps_losses_and_weights_with_the_papers_recipe(model_class=SAGAN, flags=PAPER):
    """As test_models' equivalence test; here spectral norm's u must also move once per step in both. SAGAN holds
    every layer GAN has, spectral-normed, and the paper's block.

    With the hinge loss, D's first gradients are differences of nearly equal sums over the real and the
    fake half, and Adam's first steps scale their rounding noise up to a full step of either sign; so
    the weights are held to Adam's step bound. The first step's losses are held to 1e-4. The second
    step's read every weight and u the first step left: a million weights of G then differ by Adam's
    noise, which moves G's small hinge loss by up to a percent, so they are held to 2%; the u are
    compared directly below.
    """
    batches, zs = random_batches(2)
    initial, literal_losses, literal = train_from(model_class, "literal", None, batches, zs, **flags)
    _, fused_losses, fused = train_from(model_class, "fused", initial, batches, zs, **flags)
    for step, (literal_step, fused_step) in enumerate(zip(literal_losses, fused_losses)):
        for k in literal_step:
            np.testing.assert_allclose(fused_step[k], literal_step[k], rtol=1e-4 if step == 0 else 2e-2, atol=1e-6,
                                       err_msg=f"{k} of step {step + 1}")
    u_names = [n for n in literal if n.endswith("/u")]
    assert len(u_names) > 10 and any(n.startswith("discriminator/") for n in u_names)
    bound = 2 * max(PAPER_RECIPE["lr_d"], PAPER_RECIPE["lr_g"]) * len(batches)
    for name in literal:
        if name.startswith("discriminator/") and "/moving_" in name and "Adam" not in name:
            continue  # as in test_models
        if name.endswith("/u"):  # two power iterations in both, on weights that differ by Adam's noise only
            # The averaged G's u moves only when its standing statistics are taken, never in a step.
            assert (np.abs(literal[name] - initial[name]).max() > 1e-3) != name.startswith("generator_ema/"), name
            np.testing.assert_allclose(fused[name], literal[name], rtol=1e-2, atol=1e-3, err_msg=name)
        elif "Adam" not in name and "moving_" not in name:
            assert np.all(np.abs(fused[name] - literal[name]) <= bound + 1e-6), name


def test_spectral_norm_on_d_alone_leaves_g_and_its_attention_plain_and_names_the_run():
    flags = PAPER_RECIPE
    names = {}
    for sn_nets in ("both", "d"):
        with tf.Graph().as_default():
            build(SAGAN, batch_size=8, sn_nets=sn_nets, **flags)
            names[sn_nets] = {v.op.name for v in tf1.global_variables() if v.op.name.endswith("/u")}
    d_names = {n for n in names["both"] if n.startswith("discriminator/")}
    assert {n.split("/")[1] for n in d_names} >= {"d_conv1", "d_conv2", "d_fc3", "d_fc4", "attention"}
    assert any(n.startswith("generator/attention/") for n in names["both"])
    assert names["d"] == d_names  # D's layers, its attention included, and nothing of G or the averaged G
    config = ModelConfig("SAGAN", sn_nets="d", **flags)
    assert model_dir(config) == "SAGAN_mnist_64_62_paper_snd"
    assert ModelConfig(**parse_model_dir(model_dir(config))) == config


def test_averaged_weights_follow_their_formula():
    decay = 0.9
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(GAN, sess, batch_size=8, ema_decay=decay)
        model.initialize()
        pairs = [(w, a) for w, a in model.model.averaged.pairs if w in model.model.g_vars]
        assert len(pairs) == len(model.model.g_vars)
        raw, averaged = sess.run([[w for w, _ in pairs], [a for _, a in pairs]])
        for r, a in zip(raw, averaged):
            np.testing.assert_array_equal(r, a)  # the average starts as G
        batches, zs = random_batches(2)
        for batch, z in zip(batches, zs):
            model.run_train_step(batch, z)
            raw = sess.run([w for w, _ in pairs])
            averaged = [decay * a + (1 - decay) * r for a, r in zip(averaged, raw)]
        for expected, (_, a) in zip(averaged, pairs):
            np.testing.assert_allclose(sess.run(a), expected, rtol=1e-5, atol=1e-7)


def test_averaged_weights_warm_up_as_exponential_moving_average_with_num_updates():
    decay = 0.9999
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(GAN, sess, batch_size=8, ema_decay=decay, ema_warmup=True)
        model.initialize()
        pairs = [(w, a) for w, a in model.model.averaged.pairs if w in model.model.g_vars]
        averaged = sess.run([a for _, a in pairs])
        for t, (batch, z) in enumerate(zip(*random_batches(3)), start=1):  # t counts this update
            model.run_train_step(batch, z)
            raw = sess.run([w for w, _ in pairs])
            d = min(decay, (1 + t) / (10 + t))  # 0.18, 0.25, 0.31: far from 0.9999
            averaged = [d * a + (1 - d) * r for a, r in zip(averaged, raw)]
        for expected, (_, a) in zip(averaged, pairs):
            np.testing.assert_allclose(sess.run(a), expected, rtol=1e-5, atol=1e-7)


def test_learning_rate_decay_schedule_and_its_default():
    from config import learning_rate_scale
    assert [learning_rate_scale(s, 100, None) for s in (0, 50, 99)] == [1.0, 1.0, 1.0]  # the article's: constant
    assert [learning_rate_scale(s, 100, 0.5) for s in (0, 49, 50, 75, 99, 100)] == \
        pytest.approx([1.0, 1.0, 1.0, 0.5, 0.02, 0.0])
    assert learning_rate_scale(0, 100, 0.0) == 1.0 and learning_rate_scale(100, 100, 0.0) == 0.0
    default = ModelConfig("SAGAN")
    assert default.lr_decay_start is None and default.ema_warmup is False and model_dir(default) == "SAGAN_mnist_64_62"
    config = ModelConfig("SAGAN", ema_decay=0.9999, ema_warmup=True, lr_decay_start=0.5, seed=2)
    assert model_dir(config) == "SAGAN_mnist_64_62_seed2_ema0.9999_emawarmup_lrdecay0.5"
    assert ModelConfig(**parse_model_dir(model_dir(config))) == config


def test_a_zero_learning_rate_scale_leaves_every_trained_weight_as_it_was():
    with tf.Graph().as_default(), tf1.Session() as sess:
        model = build(GAN, sess, batch_size=8)
        model.initialize()
        before = sess.run(model.model.g_vars + model.model.d_vars)
        model.run_train_step(*[b[0] for b in random_batches(1)], lr_scale=0.0)
        for b, a in zip(before, sess.run(model.model.g_vars + model.model.d_vars)):
            np.testing.assert_array_equal(a, b)
        model.run_train_step(*[b[0] for b in random_batches(1)])
        assert any(np.abs(a - b).max() > 0 for a, b in zip(before, sess.run(model.model.g_vars)))


def _fresh(tmp_path, sess, model_class=SAGAN, **flags):
    """(a model with its training graph built and initialised, its checkpoints in tmp_path)."""
    model = model_class(ModelConfig(model_class.model_name, batch_size=8, **flags))
    model.build_model()
    model = Runner(model, sess)
    model.initialize()
    return model, checkpoints.of_run(model, Folders(checkpoint_dir=str(tmp_path)))


@pytest.mark.trains
def test_restored_variables_equal_the_saved_ones_the_average_included(tmp_path):
    with tf.Graph().as_default(), tf1.Session() as sess:
        model, saves = _fresh(tmp_path, sess, **PAPER_RECIPE)
        batches, zs = random_batches(2)
        for batch, z in zip(batches, zs):
            model.run_train_step(batch, z)
        saved = dict(zip([v.op.name for v in tf1.global_variables()], sess.run(tf1.global_variables())))
        saves.save(2)
    with tf.Graph().as_default(), tf1.Session() as sess:
        model, saves = _fresh(tmp_path, sess, **PAPER_RECIPE)
        assert saves.load(lambda message: None) == 2
        restored = dict(zip([v.op.name for v in tf1.global_variables()], sess.run(tf1.global_variables())))
    assert restored.keys() == saved.keys() and any(n.startswith("generator_ema/") for n in saved)
    for name, value in saved.items():
        np.testing.assert_array_equal(restored[name], value, err_msg=name)


@pytest.mark.trains
def test_a_checkpoint_from_before_the_average_restores_with_the_average_at_the_raw_weights(tmp_path):
    with tf.Graph().as_default(), tf1.Session() as sess:
        model, saves = _fresh(tmp_path, sess, GAN)
        model.run_train_step(*[b[0] for b in random_batches(1)])
        old_layout = tf1.train.Saver([v for v in tf1.global_variables() if not v.op.name.startswith("generator_ema/")])
        os.makedirs(saves.folder)
        old_layout.save(sess, os.path.join(saves.folder, "GAN.model"), global_step=1)
    said = []
    with tf.Graph().as_default(), tf1.Session() as sess:
        model, saves = _fresh(tmp_path, sess, GAN)
        assert saves.load(said.append) == 1
        assert any("predates the averaged generator" in line for line in said)
        for raw, averaged in model.model.averaged.pairs:
            np.testing.assert_array_equal(*sess.run([raw, averaged]))


@pytest.mark.e2e
def test_papers_recipe_trains_samples_evaluates_and_draws(
        workdir, run_main, monkeypatch, capsys):
    import json
    from training.runlog import read_csv
    from test_end_to_end import STEPS_PER_EPOCH, checkpoint_step
    flags = ["--gan_type", "SAGAN", "--recipe", "paper"]
    model_dir = "SAGAN_mnist_8_62_paper"
    # Resuming is test_end_to_end's; restoring the recipe's every variable (u included) is
    # test_restored_variables_equal_the_saved_ones_the_average_included's.
    assert run_main(*flags, epoch=1) == 0
    assert checkpoint_step(model_dir)[0] == STEPS_PER_EPOCH
    results = workdir / "results" / model_dir
    rows = read_csv(str(results / "steps.csv"))
    assert all(rows[-1][g] != "" for g in ("gamma_g", "gamma_d"))
    assert run_main(*flags, "--phase", "sample", "--num_samples", 10, "--weights", "ema") == 0
    assert load_samples(results / "samples_ema.npz")[0].shape == (10, 28, 28, 1)
    assert run_main(*flags, "--phase", "eval", "--num_eval_samples", 100) == 0
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["step"] == STEPS_PER_EPOCH and np.isfinite(metrics["model_ema"]["fcd"])
    assert metrics["model"]["fcd"] != metrics["model_ema"]["fcd"]
    assert "averaged G" in capsys.readouterr().out
    assert run_main(*flags, "--phase", "attention", "--weights", "ema") == 0
    drawn = sorted(p.name for p in results.glob("attention_*.png"))
    assert drawn == ["attention_discriminator.png", "attention_generator_ema.png"]
