"""--phase eval: a trained model's samples, or those of samples files, against the test set, beside the
real-against-real floor."""
import json
import os

from errors import UserError
from interrupts import replaced_atomically
from metrics import all_metrics, classifier_score, fcd
from utils import PANEL_IMAGES, load_samples, save_panels

EPOCH_EVAL_SAMPLES = 5000
METRICS_FILE = "metrics.json"
WEIGHT_SUFFIXES = {"raw": "", "ema": "_ema"}  # of the keys of each weights' metrics

TABLE_ROWS = [("fcd", "FCD (lower is better)", "{:.3f}"), ("kid", "KID", "{:.5f}"),
              ("classifier_score", "classifier score", "{:.3f}"), ("precision", "precision (k=3)", "{:.3f}"),
              ("recall", "recall (k=3)", "{:.3f}"), ("classes_covered", "classes covered (of 10)", "{}"),
              ("kl_from_uniform", "KL(predicted || uniform)", "{:.4f}"),
              ("mean_confidence", "mean classifier confidence", "{:.4f}")]


def evaluate(model, classifier, splits, num_samples, step=None):
    """Metrics of num_samples generated images and of as many training images, each against the test set.

    step, the checkpoint's, lets --phase compare tell a stale metrics.json from a current one.
    """
    test_features, result = _against_the_test_set(classifier, splits)
    result.update({"model_dir": model.model_dir, "step": step, "num_samples": num_samples})
    for weights, suffix in WEIGHT_SUFFIXES.items():  # "model" is G's own weights, "model_ema" their average
        fake_features, fake_probs = classifier.features_and_probs(model.generate(num_samples, weights))
        result["model" + suffix] = all_metrics(test_features, fake_features, fake_probs)
    return result


def _against_the_test_set(classifier, splits):
    """(the test set's features, a result holding the real floor: as many training images as test images)."""
    test_images = splits["t10k"][0]
    test_features, _ = classifier.features_and_probs(test_images)
    floor_features, floor_probs = classifier.features_and_probs(splits["train"][0][:len(test_images)])
    return test_features, {"num_test_images": len(test_images),
                           "real_floor": all_metrics(test_features, floor_features, floor_probs)}


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


def evaluate_samples_files(samples, classifier, splits, log=print):
    """Print the metrics of each samples file's images against the test set, as --phase eval measures them;
    for checking published numbers without a checkpoint. Writes nothing."""
    test_features, reference = _against_the_test_set(classifier, splits)
    results = []
    for path, images, about in samples:
        features, probs = classifier.features_and_probs(images)
        suffix = WEIGHT_SUFFIXES.get(about.get("weights"), "")
        result = {**reference, "model_dir": f"{path} ({about.get('model_dir', 'no model_dir')}, step "
                                            f"{about.get('step', '?')})", "num_samples": len(images),
                  "model" + suffix: all_metrics(test_features, features, probs)}
        log(format_table(result))
        results.append(result)
    return results


def epoch_evaluator(classifier, test_images, num_samples=EPOCH_EVAL_SAMPLES):
    """A function of a model giving the FCD and classifier score of num_samples of its images, for training."""
    test_features, _ = classifier.features_and_probs(test_images)

    def evaluate_epoch(model):
        scores = {}
        for weights, suffix in WEIGHT_SUFFIXES.items():
            features, probs = classifier.features_and_probs(model.generate(num_samples, weights))
            scores.update({"fcd" + suffix: fcd(test_features, features),
                           "classifier_score" + suffix: classifier_score(probs)[0]})
        return scores
    return evaluate_epoch


def format_table(result):
    """The metrics as a plain-text table: G's own weights, their average, and the real floor."""
    columns = [(part, label) for part, label in (("model", "raw G"), ("model_ema", "averaged G"),
                                                 ("real_floor", "real floor")) if part in result]
    lines = [f"{result['model_dir']}: {result['num_samples']} samples against {result['num_test_images']} "
             f"test images", f"{'metric':<28}" + "".join(f"{label:>12}" for _, label in columns)]
    for key, label, fmt in TABLE_ROWS:
        lines.append(f"{label:<28}" + "".join(f"{fmt.format(result[part][key]):>12}" for part, _ in columns))
    return "\n".join(lines)


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


def evaluate_checkpoint(model, classifier, splits, num_samples, log=print):
    """Restore the model's latest checkpoint, write metrics.json and print the table; returns the result."""
    step = model.restore_trained(log)
    result = evaluate(model, classifier, splits, num_samples, step)
    log(format_table(result))
    log(f"wrote {write_result(result, model.out_dir('result'))}")
    return result
