"""The power-function averages of G (--ema_widths) and --d_steps: their maths, resume, and what they leave alone."""
import numpy as np
import pytest
import tensorflow as tf

from training import ema
from test_end_to_end import checkpoint_step, checkpoint_weights

tf1 = tf.compat.v1

STEPS_PER_EPOCH = 6  # 48 tiny images in batches of 8


@pytest.mark.parametrize("width", [0.05, 0.1, 0.2, 0.28])
def test_gamma_gives_a_profile_of_that_relative_width(width):
    gamma = ema.power_function_gamma(width)
    # the profile weighs x in [0, 1] (the fraction of the run) by (gamma + 1) x^gamma; its std is the width
    x = (np.arange(1_000_000) + 0.5) / 1_000_000
    density = (gamma + 1) * x ** gamma / 1_000_000
    mean = np.sum(density * x)
    assert np.sqrt(np.sum(density * (x - mean) ** 2)) == pytest.approx(width, rel=1e-4)


def tiny_generator(z, is_training=True, reuse=False, scope="generator", custom_getter=None, labels=None):
    """A G of one weight vector: enough for AveragedGenerator, which builds it twice under its own scope."""
    with tf1.variable_scope(scope, reuse=reuse, custom_getter=custom_getter):
        w = tf1.get_variable("w", [4], initializer=tf1.zeros_initializer())
        return z[:, :4] * w


@pytest.mark.parametrize("width", [0.05, 0.2])
def test_the_average_is_edm2s_power_function_average_computed_directly(sess, width):
    z = tf1.placeholder(tf.float32, [None, 4])
    w = tiny_generator(z) is not None and tf1.global_variables("generator/")[0]
    step = tf1.train.get_or_create_global_step()
    config = type("Config", (), {"ema_decay": 0.999, "ema_warmup": False})()
    averaged = ema.AveragedGenerator(tiny_generator, config, z, step, width=width)
    assert averaged.scope == "generator_ema_sigma" + str(width)
    value = tf1.placeholder(tf.float32, [4])
    with tf.control_dependencies([tf1.assign(w, value), tf1.assign_add(step, 1)]):
        update = tf.group(*averaged.build_update([w]))  # runs after G's update and the step's increment
    sess.run(tf1.global_variables_initializer())
    thetas = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    for theta in thetas:
        sess.run(update, {value: theta})
    # direct: weight of update s in the average at t is (s^(gamma+1) - (s-1)^(gamma+1)) / t^(gamma+1)
    gamma, t = ema.power_function_gamma(width), len(thetas)
    s = np.arange(1, t + 1, dtype=np.float64)
    weights = (s ** (gamma + 1) - (s - 1) ** (gamma + 1)) / t ** (gamma + 1)
    assert weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(sess.run(averaged.pairs[0][1]), weights @ thetas, rtol=1e-4, atol=1e-5)


@pytest.mark.e2e
def test_widths_and_d_steps_resume_exactly_and_leave_the_default_g_alone(workdir, run_main, monkeypatch,
                                                                         op_determinism):
    from training.runner import Runner
    flags = ("--ema_widths", "0.1,0.2", "--d_steps", "2")
    name = "GAN_mnist_8_62_dsteps2"
    steps = STEPS_PER_EPOCH // 2  # G updates per epoch: each takes two batches
    fed = []  # (which update, the batch's bytes) of every update of the whole run
    with monkeypatch.context() as patch:
        for method in ("run_d_step", "run_train_step"):
            original = getattr(Runner, method)
            patch.setattr(Runner, method, lambda self, batch, *a, _o=original, _m=method, **k:
                          fed.append((_m, batch.tobytes())) or _o(self, batch, *a, **k))
        assert run_main("--gan_type", "GAN", *flags, "--checkpoint_dir", "whole") == 0
    assert [m for m, _ in fed] == ["run_d_step", "run_train_step"] * (2 * steps)
    for epoch in (0, 1):  # each update on its own batch: an epoch is one pass over the data
        assert len({b for _, b in fed[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]}) == STEPS_PER_EPOCH
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(f"whole/{name}"))
    assert int(reader.get_tensor("global_step")) == 2 * steps
    # D took two updates per G update: each Adam's beta1 power is beta1^(1 + its updates)
    powers = sorted(float(reader.get_tensor(n)) for n in reader.get_variable_to_shape_map() if "beta1_power" in n)
    assert powers == pytest.approx([0.5 ** (1 + 2 * 2 * steps), 0.5 ** (1 + 2 * steps)])  # D's, G's
    # stopped inside the first epoch and resumed, as one that was not
    assert run_main("--gan_type", "GAN", *flags, "--stop_after_steps", 1) == 0
    assert checkpoint_step(name)[0] == 1
    assert run_main("--gan_type", "GAN", *flags) == 0
    assert checkpoint_step(name)[0] == 2 * steps
    resumed = checkpoint_weights(name)
    assert {"generator_ema_sigma0.1/g_fc1/Matrix", "generator_ema_sigma0.2/g_fc1/Matrix"} <= set(resumed)
    for variable, value in resumed.items():
        if variable.startswith("discriminator/") and "/moving_" in variable:
            continue  # as in test_end_to_end's resume test: D's two passes race on them, and nothing reads them
        np.testing.assert_allclose(value, reader.get_tensor(variable), rtol=1e-4, atol=1e-6, err_msg=variable)
    # the widths change nothing else: G, the default average and D as a run without them trains them
    assert run_main("--gan_type", "GAN", "--d_steps", "2", "--checkpoint_dir", "plain") == 0
    plain = tf.train.load_checkpoint(tf.train.latest_checkpoint(f"plain/{name}"))
    for variable in plain.get_variable_to_shape_map():
        if variable.startswith(("generator/", "generator_ema/")):
            np.testing.assert_allclose(plain.get_tensor(variable), reader.get_tensor(variable), rtol=1e-5,
                                       atol=1e-7, err_msg=variable)
    # and the sampler finds them in the checkpoint: --weights names one
    assert run_main("--gan_type", "GAN", "--d_steps", "2", "--phase", "sample", "--weights", "ema_sigma0.1") == 0
    assert (workdir / "results" / name / "samples_ema_sigma0.1.npz").exists()
