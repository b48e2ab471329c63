"""--phase eval: a trained model's samples against the test set, beside the real-against-real floor."""
import json
import os

from interrupts import replaced_atomically
from metrics import all_metrics, classifier_score, fcd

EPOCH_EVAL_SAMPLES = 5000
METRICS_FILE = "metrics.json"

TABLE_ROWS = [("fcd", "FCD (lower is better)", "{:.3f}"), ("kid", "KID", "{:.5f}"),
              ("classifier_score", "classifier score", "{:.3f}"), ("precision", "precision (k=3)", "{:.3f}"),
              ("recall", "recall (k=3)", "{:.3f}"), ("classes_covered", "classes covered (of 10)", "{}"),
              ("kl_from_uniform", "KL(predicted || uniform)", "{:.4f}"),
              ("mean_confidence", "mean classifier confidence", "{:.4f}")]


def evaluate(model, classifier, splits, num_samples, step=None):
    """Metrics of num_samples generated images and of as many training images, each against the test set.

    step, the checkpoint's, lets --phase compare tell a stale metrics.json from a current one.
    """
    test_images = splits["t10k"][0]
    test_features, _ = classifier.features_and_probs(test_images)
    fake_features, fake_probs = classifier.features_and_probs(model.generate(num_samples))
    floor_features, floor_probs = classifier.features_and_probs(splits["train"][0][:len(test_images)])
    return {"model_dir": model.model_dir, "step": step, "num_samples": num_samples, "num_test_images": len(test_images),
            "model": all_metrics(test_features, fake_features, fake_probs),
            "real_floor": all_metrics(test_features, floor_features, floor_probs)}


def epoch_evaluator(classifier, test_images, num_samples=EPOCH_EVAL_SAMPLES):
    """A function of a model giving the FCD and classifier score of num_samples of its images, for training."""
    test_features, _ = classifier.features_and_probs(test_images)

    def evaluate_epoch(model):
        features, probs = classifier.features_and_probs(model.generate(num_samples))
        return {"fcd": fcd(test_features, features), "classifier_score": classifier_score(probs)[0]}
    return evaluate_epoch


def format_table(result):
    """The metrics as a plain-text table, model beside floor."""
    lines = [f"{result['model_dir']}: {result['num_samples']} samples against {result['num_test_images']} "
             f"test images", f"{'metric':<28}{'model':>12}{'real floor':>12}"]
    for key, label, fmt in TABLE_ROWS:
        lines.append(f"{label:<28}{fmt.format(result['model'][key]):>12}{fmt.format(result['real_floor'][key]):>12}")
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
