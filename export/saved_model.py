"""G alone, in a graph of its own, written as a TF1 SavedModel with one serving signature.

The export graph holds one copy of G in inference mode, under the scope "generator", whichever weights
it carries: the raw G's, or the averaged G's with its standing batch-norm statistics computed once and
stored as its moving averages. Nothing of D, of the optimisers or of the other weights goes in.
"""
import os

import tensorflow as tf
from tensorflow.python.util import deprecation

from common.errors import UserError
from common.interrupts import activity, replaced_atomically
from export.model_card import write_model_card
from common.graph import load_values
from training import checkpoints

tf1 = tf.compat.v1

EXPORT_FOLDER = "export"  # under results/<model_dir>/, one folder per weights
SIGNATURE = "serving_default"
SCOPE = "generator"  # of G in the export, for either weights


def export_folder(runner, folders, weights):
    """results/<model_dir>/export/<weights>: where export() writes."""
    return os.path.join(folders.of("result", runner.model_dir), EXPORT_FOLDER, weights)


def export(runner, folders, weights="ema", log=print):
    """Restore the runner's newest checkpoint and write G of the weights chosen as a SavedModel into the run's results
    folder (folders: config.Folders); returns its folder.

    runner: of a model built with build_sampler(). An existing folder is refused, never overwritten; the SavedModel is
    written beside it and renamed into place, so a stop leaves no half-written folder.
    """
    path = export_folder(runner, folders, weights)
    if os.path.exists(path):
        raise UserError(f"{path} exists; nothing was changed: delete or move it to export again")
    step = checkpoints.of_run(runner, folders).restore_trained(log)
    values = runner.weights_values(weights)  # an average's with its standing statistics, frozen into the export
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with activity(f"exporting {runner.model_dir}", "no export folder was written"):
        with replaced_atomically(path) as tmp:
            write_saved_model(runner.model, values, tmp)
            write_model_card(runner.model, weights, step, tmp, folders.of("result", runner.model_dir))
    log(f"wrote G ({'raw' if weights == 'raw' else 'averaged (' + weights + ')'} weights, step {step}) as a SavedModel to "
        f"{path}")
    return path


def write_saved_model(model, values, path):
    """G of model's architecture with the values {name under the scope: array}, as a SavedModel in path."""
    config = model.config
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as sess:
        z = tf1.placeholder(tf.float32, [None, config.z_dim], name="z")
        inputs = {"z": z}
        labels = None
        if config.conditional:
            labels = inputs["labels"] = tf1.placeholder(tf.int32, [None], name="labels")
        images = model.build_generator(z, is_training=False, labels=labels)  # [N, 28, 28, 1] in [0, 1], under SCOPE
        # utils.to_uint8, in the graph: round half to even, as numpy's round
        images = tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8, name="images")
        variables = tf1.global_variables()
        names = {v.op.name[len(SCOPE) + 1:] for v in variables}
        if names != set(values):
            raise ValueError(f"the export's G and the checkpoint's differ: {sorted(names ^ set(values))[:3]}")
        load_values(sess, {v: values[v.op.name[len(SCOPE) + 1:]] for v in variables})
        with deprecation.silence():  # TF1's signature builder warns of its own deprecation: not the user's concern
            signature = tf1.saved_model.signature_def_utils.predict_signature_def(inputs, {"images": images})
        builder = tf1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(sess, [tf1.saved_model.tag_constants.SERVING],
                                             signature_def_map={SIGNATURE: signature}, strip_default_attrs=True)
        builder.save()
