"""--phase eval: a trained model's samples, or those of samples files, measured by the yardstick, each beside
the floor of as many real images."""
import json
import os

from common.errors import UserError
from config import WEIGHTS, WIDTH_WEIGHTS, TrainConfig, weights_width
from training import samples, streams
from common.interrupts import replaced_atomically
from utils import PANEL_IMAGES, load_samples, save_panels
from evaluation.conditional import measure_conditional
from evaluation.yardstick import memorisation_line

METRICS_FILE = "metrics.json"
WEIGHT_SUFFIXES = dict(zip(WEIGHTS, ("", "_ema")))  # of the keys of each weights' metrics

TABLE_ROWS = [("fcd", "FCD (lower is better)", "{:.3f}"), ("fcd_spread", "  its spread (resampling std)", "{:.3f}"),
              ("fcd_multiple", "  as a multiple of the floor", "{:.2f}x"), ("kid", "KID", "{:.5f}"),
              ("classifier_score", "classifier score", "{:.3f}"), ("precision", "precision (k=3)", "{:.3f}"),
              ("recall", "recall (k=3)", "{:.3f}"), ("classes_covered", "classes covered (of 10)", "{}"),
              ("kl_from_uniform", "KL(predicted || uniform)", "{:.4f}"),
              ("mean_confidence", "mean classifier confidence", "{:.4f}")]


def weights_suffix(weights):
    """The suffix of a weights' metrics in metrics.json: model, model_ema, model_ema_sigma0.1."""
    return "" if weights == "raw" else "_" + weights


def evaluate(runner, yardstick, num_samples, step=None):
    """Metrics of num_samples generated images of every weights the model keeps (raw, ema and --ema_widths'), and
    of as many real images of the floor set.

    step, the checkpoint's, lets --phase compare tell a stale metrics.json from a current one.
    """
    result = {"model_dir": runner.model_dir, "step": step, "num_samples": num_samples, **yardstick.about,
              "real_floor": yardstick.floor(num_samples)}
    for weights in runner.config.weights:  # "model" is G's own weights, "model_ema" their average
        suffix = weights_suffix(weights)
        images = samples.draw(runner, num_samples, weights)
        result["model" + suffix] = yardstick.measure(images)
        if runner.config.conditional:  # the ten classes equally, in turn
            def generate(n, weights=weights):
                return samples.draw(runner, n, weights), streams.sample_labels(runner.config, n)
            labels = streams.sample_labels(runner.config, num_samples)
            result["model" + suffix].update(measure_conditional(yardstick, images, labels, generate))
    return result


def read_samples_files(paths):
    """[(path, images, about)] of samples files, or a UserError naming the first that cannot be read."""
    read = []
    for path in paths:
        try:
            read.append((path, *load_samples(path)))
        except (OSError, ValueError) as e:
            raise UserError(f"--samples: {e}; give .npz files written by --phase sample (docs/samples/ holds the "
                            f"published ones)") from None
    return read


def draw_same_z(samples, path, log=print):
    """Draw samples files side by side into a new PNG, or a UserError when they do not share their z or path is
    taken."""
    if os.path.exists(path):
        raise UserError(f"--grid {path} exists; name a new file (nothing is overwritten)")
    if not os.path.isdir(os.path.dirname(path) or "."):
        raise UserError(f"--grid {path}: its folder does not exist")
    drawn_from = {(about.get("seed"), len(images)) for _, images, about in samples}
    if len(drawn_from) > 1:
        raise UserError("--grid: these files were not drawn from the same z (seed, count: "
                        f"{', '.join(f'{s}, {n}' for s, n in sorted(drawn_from, key=str))}); give files written "
                        "with one --seed and --num_samples")
    save_panels([(os.path.splitext(os.path.basename(p))[0], images) for p, images, _ in samples], path)
    log(f"drew the first {min(PANEL_IMAGES, len(samples[0][1]))} images of each file into {path}")


def evaluate_samples_files(samples, yardstick, log=print):
    """Print the metrics of each samples file's images as --phase eval measures them, beside the floor of as
    many real images; for checking published numbers without a checkpoint. Writes nothing."""
    results = []
    for path, images, about in samples:
        suffix = weights_suffix(about.get("weights", "raw"))
        result = {"model_dir": f"{path} ({about.get('model_dir', 'no model_dir')}, step {about.get('step', '?')})",
                  "num_samples": len(images), **yardstick.about, "real_floor": yardstick.floor(len(images)),
                  "model" + suffix: yardstick.measure(images)}
        if "labels" in about:  # a conditional model's: the file has no generator to train a classifier on
            result["model" + suffix].update(measure_conditional(yardstick, images, about["labels"]))
        log(format_table(result))
        results.append(result)
    return results


def epoch_evaluator(yardstick, num_samples=TrainConfig.epoch_eval_samples):
    """A function of a model giving, for both weights, the FCD of num_samples of its images, its multiple of the
    floor of as many real images, and the classifier score; for training."""
    def evaluate_epoch(runner):
        scores = {}
        for weights, suffix in WEIGHT_SUFFIXES.items():
            quick = yardstick.quick(samples.draw(runner, num_samples, weights))
            scores.update({"fcd" + suffix: quick["fcd"], "fcd_multiple" + suffix: quick["fcd_multiple"],
                           "classifier_score" + suffix: quick["classifier_score"], "fcd_floor": quick["fcd_floor"]})
        return scores
    return evaluate_epoch


def format_table(result):
    """The metrics as a plain-text table, G's own weights, their average and the floor, then one memorisation
    line for each set of generated images."""
    widths = sorted((key for key in result if key.startswith("model_" + WIDTH_WEIGHTS)),
                    key=lambda key: weights_width(key[len("model_"):]))
    columns = [(part, label) for part, label in (("model", "raw G"), ("model_ema", "averaged G"),
                                                 *((key, "σ " + key[len("model_" + WIDTH_WEIGHTS):]) for key in widths),
                                                 ("real_floor", "real floor")) if part in result]
    floor = result["real_floor"]
    draws = floor.get("draws", 1)
    lines = [f"{result['model_dir']}: {result['num_samples']} samples against {result['reference_images']} "
             f"reference images; the floor is {'the mean of ' + str(draws) + ' draws' if draws > 1 else 'one draw'} "
             f"of {floor['num_images']} other real images (the classifier, which saw none of these, reads "
             f"{100 * result['classifier_accuracy']:.2f}% of the reference and floor images right)",
             f"{'metric':<30}" + "".join(f"{label:>12}" for _, label in columns)]
    for key, label, fmt in TABLE_ROWS:
        lines.append(f"{label:<30}" + "".join(f"{fmt.format(result[part][key]):>12}" for part, _ in columns))
    lines += [f"{label}: {memorisation_line(result[part]['memorisation'])}" for part, label in columns
              if part != "real_floor"]
    lines += [f"{label}: {conditional_line(result[part], result['classifier_accuracy'])}" for part, label in columns
              if "label_accuracy" in result[part]]
    return "\n".join(lines)


def conditional_line(metrics, real_accuracy):
    """A conditional model's figures in one line: the digit asked for, each class against its own, and whether
    the samples teach a classifier."""
    line = (f"label accuracy {100 * metrics['label_accuracy']:.2f}% (real images: {100 * real_accuracy:.2f}%); "
            f"intra-class FCD {metrics['intra_fcd']:.3f} against a floor of {metrics['intra_fcd_floor']:.3f} "
            f"({metrics['intra_fcd_multiple']:.2f}x)")
    if "cas" in metrics:
        line += (f"; a classifier trained on its samples reads {100 * metrics['cas']:.2f}% of the reference right "
                 f"(trained on as many real images: {100 * metrics['cas_real']:.2f}%)")
    return line


def write_result(result, result_dir):
    """metrics.json in result_dir; returns its path."""
    path = os.path.join(result_dir, METRICS_FILE)
    with replaced_atomically(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
    return path


def read_result(result_dir):
    """The metrics.json of a results folder, or None."""
    path = os.path.join(result_dir, METRICS_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def evaluate_checkpoint(runner, folders, yardstick, num_samples, log=print):
    """Restore the model's latest checkpoint, write metrics.json into its results folder and print the table;
    returns the result."""
    from training import checkpoints  # TensorFlow's, imported once a model is built: eval --samples never needs it
    step = checkpoints.of_run(runner, folders).restore_trained(log)
    result = evaluate(runner, yardstick, num_samples, step)
    log(format_table(result))
    log(f"wrote {write_result(result, folders.made('result', runner.model_dir))}")
    return result
