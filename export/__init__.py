"""Take G away: --phase export writes a trained G as a SavedModel that plain TensorFlow loads (saved_model), with
a model card beside it (model_card).

May import common, training (the runner that gives G's weights, the run's config.json), evaluation (its
metrics.json) and config; models are built through training/runner.build by main.
"""
