"""The typed configuration of a run, the model registry, and how a run's folder is named and read back.

Each naming fact is written here once; main, bench, compare, the trainer and scripts/ read it from here.
"""
import dataclasses
import os
import re
from typing import Optional

MODEL_NAMES = ("GAN", "SAGAN")  # the registry: each is class <name> in <name>.py (models.model_class)
DATASETS = ("mnist", "fashion-mnist")
PRECISIONS = ("float32", "bfloat16")
TRAIN_STEPS = ("fused", "literal")
PRECISION_SUFFIX = {"float32": "", "bfloat16": "_bf16"}  # of model_dir: precisions never share a run


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What a model is and how it learns; model_dir names the choices that make runs differ."""

    gan_type: str
    dataset: str = "mnist"
    batch_size: int = 64
    z_dim: int = 62
    seed: int = 0
    precision: str = "float32"  # of the nets' arithmetic; weights stay float32
    # fused: the D step and the G step in one session.run, G's forward pass shared, hand-written kernels;
    # literal: the article's two session.run calls with its unfused ops. The same updates.
    train_step: str = "fused"
    learning_rate: float = 2e-4  # D's
    g_lr_ratio: float = 5.0  # G's learning rate over D's
    beta1: float = 0.5

    def __post_init__(self):
        for field, allowed in (("gan_type", MODEL_NAMES), ("dataset", DATASETS), ("precision", PRECISIONS),
                               ("train_step", TRAIN_STEPS)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} {getattr(self, field)!r} is not one of {allowed}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How long to train and how often to save, log and evaluate."""

    epoch: int = 20
    save_every: int = 500
    log_every: int = 50
    eval_every: int = 1  # 0: never
    stop_after_steps: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Folders:
    """The roots under which each run keeps its own <model_dir> folder."""

    checkpoint_dir: str = "checkpoint"
    result_dir: str = "results"
    log_dir: str = "logs"
    data_dir: str = "data"

    def of(self, kind, model_dir):
        """checkpoint/, results/ or logs/ folder of a run; not created."""
        root = {"checkpoint": self.checkpoint_dir, "result": self.result_dir, "log": self.log_dir}[kind]
        return os.path.join(root, model_dir)


def model_dir(config):
    """The framework's {gan_type}_{dataset}_{batch_size}_{z_dim}, plus _seed{N} off seed 0, plus _bf16."""
    name = f"{config.gan_type}_{config.dataset}_{config.batch_size}_{config.z_dim}"
    if config.seed != 0:
        name += f"_seed{config.seed}"
    return name + PRECISION_SUFFIX[config.precision]


_SUFFIX_PRECISION = {suffix: precision for precision, suffix in PRECISION_SUFFIX.items()}
_MODEL_DIR = re.compile(rf"^({'|'.join(MODEL_NAMES)})_({'|'.join(map(re.escape, DATASETS))})_(\d+)_(\d+)"
                        rf"(?:_seed(\d+))?({'|'.join(map(re.escape, _SUFFIX_PRECISION))})$")


def parse_model_dir(name):
    """model_dir's inverse: {'gan_type', 'dataset', 'batch_size', 'z_dim', 'seed', 'precision'}, or None."""
    match = _MODEL_DIR.match(name)
    if match is None:
        return None
    gan_type, dataset, batch_size, z_dim, seed, suffix = match.groups()
    fields = dict(gan_type=gan_type, dataset=dataset, batch_size=int(batch_size), z_dim=int(z_dim),
                  seed=int(seed or 0), precision=_SUFFIX_PRECISION[suffix])
    if model_dir(ModelConfig(**fields)) != name:  # e.g. an explicit _seed0 or a leading zero
        return None
    return fields
