"""--phase export: a trained G as a SavedModel that plain TensorFlow loads, with a model card beside it."""
