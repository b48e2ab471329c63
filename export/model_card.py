"""MODEL_CARD.md beside an export: what G is, how it was trained, how good it is beside the floor, how to load it."""
import dataclasses
import json
import os

from config import ModelConfig, architecture, model_dir, recipe_tags
from evaluation.evaluate import read_result
from training.runlog import read_run_config

CARD_FILE = "MODEL_CARD.md"
ARTICLE = ('the article "SAGAN代码简单实现" by TwistedW (twistedwg.com; code: SAGAN.py in '
           'https://github.com/TwistedW/tensorflow-GANs)')
DATASET_CONTENT = {"mnist": "handwritten digits", "fashion-mnist": "images of clothes and shoes"}
FLAG_OF_FIELD = {"spectral_norm": "sn"}  # the ModelConfig fields whose flag has another name


def command_flags(config):
    """The main.py flags that name config's run: each field that differs from the article's default."""
    default = ModelConfig(config.gan_type)
    flags = [f"--gan_type {config.gan_type}"]
    for field in dataclasses.fields(ModelConfig):
        value = getattr(config, field.name)
        if field.name == "gan_type" or value == getattr(default, field.name):
            continue
        flag = "--" + FLAG_OF_FIELD.get(field.name, field.name)
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, tuple):
            flags.append(f"{flag} {','.join(map(str, value))}")
        else:
            flags.append(f"{flag} {value}")
    return " ".join(flags)


def quality_lines(model, weights, step, result_dir):
    """The card's quality section: the run's metrics.json figures of these weights beside the floor, or how to
    measure them."""
    result = read_result(result_dir)
    part = "model" if weights == "raw" else "model_" + weights
    if result is None or part not in result:
        return ["Not measured. `python main.py " + command_flags(model.config) + " --phase eval` measures it: "
                "10,000 samples against 10,000 real reference images, beside the floor."]
    measured, floor = result[part], result["real_floor"]
    lines = [f"From the run's metrics.json ({result['num_samples']:,} samples of the checkpoint at step "
             f"{result.get('step')}, against {result['reference_images']:,} reference images):", "",
             "| | FCD ↓ | × floor ↓ | FCD − floor ↓ |", "|---|---|---|---|",
             f"| this G | {measured['fcd']:.3f} | {measured['fcd_multiple']:.2f} | "
             f"{measured['fcd'] - floor['fcd']:.3f} |",
             f"| real images (the floor) | {floor['fcd']:.3f} | 1 | 0 |"]
    if result.get("step") != step:
        lines += ["", f"Measured at step {result.get('step')}, not at the exported step {step}: run `--phase eval` "
                      "again to measure this one."]
    return lines


def write_model_card(model, weights, step, folder, result_dir):
    """Write CARD_FILE into folder for model's G of the given weights, exported at step; result_dir: the run's
    results folder, whose config.json and metrics.json the card reports."""
    config = model.config
    saved = read_run_config(result_dir)
    configuration = saved if saved is not None else dataclasses.asdict(config)
    inputs = f"`z` float32 [N, {config.z_dim}], uniform in [−1, 1]"
    if config.conditional:
        inputs += ", and `labels` int32 [N], the digit of each image"
    draw = ('labels=tf.fill([10], 7)' if config.conditional else "")
    count = 10 if config.conditional else 64
    example = ["import tensorflow as tf",
               'G = tf.saved_model.load("<this folder>").signatures["serving_default"]',
               f"z = tf.random.uniform([{count}, {config.z_dim}], -1.0, 1.0)",
               f"images = G(z=z{', ' + draw if draw else ''})[\"images\"]  # uint8 [{count}, 28, 28, 1]"
               + (" : ten 7s" if config.conditional else ""),
               "print(images.shape, images.dtype)"]
    text = "\n".join([
        f"# {model_dir(config)}: G, {'raw' if weights == 'raw' else 'averaged (' + weights + ')'} weights, "
        f"step {step:,}", "",
        (f"The generator of SAGAN as {ARTICLE} writes it: the GAN collection framework's MNIST G with a "
         "self-attention block" if config.gan_type == "SAGAN" and config.attention == "article" else
         f"The generator of SAGAN on the nets of {ARTICLE}, with the SAGAN paper's attention block in place of "
         "the article's" if config.gan_type == "SAGAN" else
         f"The generator of the vanilla GAN of the GAN collection framework (infoGAN's MNIST nets), the baseline "
         f"of {ARTICLE}") + ", reproduced in TensorFlow 1 style" +
        ("" if not recipe_tags(config) else
         f", trained otherwise than the article (model_dir tags: {', '.join(recipe_tags(config))})") +
        (", made class-conditional as in the SAGAN paper (per-class batch-norm gamma and beta)."
         if config.conditional else "."),
        f"Architecture: {architecture(config, 'G')}.",
        "" if weights == "raw" else "\nThese are " + ("the moving average of G's weights kept during training (the "
                                                     "averaged G)" if weights == "ema" else
                                                     f"a power-function average of G's weights ({weights})") +
        f", with batch-norm statistics taken once over {config.standing_batches} batches of "
        f"{config.batch_size} z and frozen into the export.", "",
        "## Signature", "",
        f"`serving_default`: {inputs} → `images` uint8 [N, 28, 28, 1], 0 black to 255 white. G runs in "
        "inference mode (batch norm with its stored statistics), so any N works.", "",
        "```python", *example, "```", "",
        "## Quality", "", *quality_lines(model, weights, step, result_dir), "",
        f"FCD is the Fréchet distance in the features of the project's {config.dataset} classifier; the floor is "
        "the same "
        "distance for as many other real images, so 1 × floor is as close to real images as the measure can "
        "tell.", "",
        "## Limits", "",
        f"Trained on {config.dataset} only: 28 × 28 greyscale {DATASET_CONTENT[config.dataset]}, and nothing else. "
        "It was measured only against "
        "the floor above, with the project's own classifier; the figures are not comparable with FID on other "
        "datasets.", "",
        "## Configuration", "",
        "The run's config.json" + ("" if saved is not None else " (absent; the configuration the export was built "
                                                                "with)") + ":",
        "", "```json", json.dumps(configuration, indent=2), "```", ""])
    with open(os.path.join(folder, CARD_FILE), "w") as f:
        f.write(text)
