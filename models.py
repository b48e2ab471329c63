"""The model classes of config.MODEL_NAMES, imported on demand so that TensorFlow loads only when needed."""
import importlib

from config import MODEL_NAMES


def model_class(gan_type):
    """The model class registered under gan_type: class <gan_type> of module <gan_type>."""
    if gan_type not in MODEL_NAMES:
        raise ValueError(f"unknown model {gan_type!r}")
    return getattr(importlib.import_module(gan_type), gan_type)
