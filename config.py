"""The typed configuration of a run, the model registry, and how a run's folder is named and read back.

Each naming fact is written here once; main, bench, compare, the trainer and scripts/ read it from here.
"""
import dataclasses
import os
import re
from typing import Optional, Tuple

MODEL_NAMES = ("GAN", "SAGAN")  # the registry: each is class <name> in <name>.py (model_class)
DATASETS = ("mnist", "fashion-mnist")
NUM_CLASSES = 10  # of both datasets: the labels a conditional model draws, the classes the metrics' classifier reads
WEIGHTS = ("raw", "ema")  # which G: its own weights, or their moving average (the averaged G)
WIDTH_WEIGHTS = "ema_sigma"  # and ema_sigma<width>: one of --ema_widths' power-function averages
MAX_EMA_WIDTH = 0.28  # a power-function average is at most about 0.29 wide: gamma 0's, uniform over the run
PRECISIONS = ("float32", "bfloat16")
TRAIN_STEPS = ("fused", "literal")
PRECISION_SUFFIX = {"float32": "", "bfloat16": "_bf16"}  # of model_dir: precisions never share a run
LOSSES = ("bce", "hinge")
ATTENTION_BLOCKS = ("article", "paper")
SN_NETS = ("both", "d")  # with spectral norm: every layer of G and D (the paper's), or of D alone
# The sides of the maps attention went on: 7 (the article's), and 14 until --attention_at was retired; runs of then
# log gamma_g14 and gamma_d14, which the logs keep as columns.
ATTENTION_SIDES = (7, 14)
# Fields that config.json files of earlier commits may hold and this code no longer has, with the one value it
# still trains: a run with another value is not a configuration of this code (compare skips it, saying why).
RETIRED_FIELDS = {"attention_at": [7]}
RETIRED_FLAGS = {"attention_at": "--attention_at was retired: SAGAN attends over the 7x7 maps, the article's place "
                                 "(docs/options.md)"}


def scale_field(net, side):
    """The log's name of the attention scale of net ('generator' or 'discriminator') at side: gamma_g, gamma_d14."""
    return f"gamma_{net[0]}{'' if side == ATTENTION_SIDES[0] else side}"


SCALE_FIELDS = [scale_field(net, side) for side in ATTENTION_SIDES for net in ("generator", "discriminator")]
# --recipe paper: the SAGAN paper's training (Zhang et al. 2019, section 5), on the article's nets.
PAPER_RECIPE = dict(loss="hinge", spectral_norm=True, attention="paper", lr_d=4e-4, lr_g=1e-4, beta1=0.0,
                    beta2=0.9)


def option(default, help, **spec):
    """A config field that is also a flag of main.py, which builds its parser from these: help, and the spec of its
    values (choices=, bounds=(low, high) with low_open=, parse= a function of the text that raises ValueError,
    flag= when the flag's name is not the field's)."""
    return dataclasses.field(default=default, metadata=dict(help=help, **spec))


def parse_widths(text):
    """The widths of --ema_widths, e.g. '0.05,0.1,0.2', sorted; ValueError unless each is in (0, MAX_EMA_WIDTH]."""
    widths = tuple(sorted({float(part) for part in text.split(",")}))
    if not all(0 < w <= MAX_EMA_WIDTH for w in widths):
        raise ValueError(f"each width is in (0, {MAX_EMA_WIDTH}]")
    return widths


def parse_devices(text):
    """--devices: a count of devices (1 to 1024), or device names separated by commas."""
    if text.isdigit():
        if not 1 <= int(text) <= 1024:
            raise ValueError(f"{text} is not in [1, 1024]")
        return (str(int(text)),)
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if len(names) < 1 or not all(n.startswith("/") for n in names):
        raise ValueError(f"{text!r} is neither a count nor device names like /gpu:0,/gpu:1")
    return names


MAX_IMAGES = 1_000_000  # of any count of images a flag asks for: 784 MB of uint8


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What a model is and how it learns; model_dir names the choices that make runs differ."""

    gan_type: str
    dataset: str = option("mnist", "dataset", choices=DATASETS)
    batch_size: int = option(64, "batch size", bounds=(1, 70_000))
    z_dim: int = option(62, "dimension of z", bounds=(1, 10_000))
    seed: int = option(0, "seed of weights, data order and z; other than 0 it is added to model_dir",
                       bounds=(0, 2**31 - 1))
    precision: str = option("float32", "arithmetic of the nets; bfloat16 is mixed precision, with float32 weights, "
                            "batch-norm statistics and losses; fast only on CPUs with AVX512_BF16 or AMX (GPUs are "
                            "untested)", choices=PRECISIONS)
    train_step: str = option("fused", "fused: D and G steps in one session.run, G's forward pass shared; literal: the "
                             "framework's two session.run calls, G recomputed for the G step; the same kernels and "
                             "updates", choices=TRAIN_STEPS)
    learning_rate: float = option(2e-4, "D's Adam learning rate", bounds=(0.0, 1.0))
    g_lr_ratio: float = option(5.0, "G's learning rate as a multiple of D's", bounds=(0.0, 1000.0))
    lr_d: Optional[float] = option(None, "D's Adam learning rate, instead of --learning_rate", bounds=(0.0, 1.0))
    lr_g: Optional[float] = option(None, "G's Adam learning rate, instead of --learning_rate times --g_lr_ratio",
                                   bounds=(0.0, 1.0))
    beta1: float = option(0.5, "Adam beta1", bounds=(0.0, 0.999), low_open=False)
    beta2: float = option(0.999, "Adam beta2", bounds=(0.0, 0.9999), low_open=False)
    loss: str = option("bce", "bce: the framework's sigmoid cross-entropy; hinge: the SAGAN paper's", choices=LOSSES)
    spectral_norm: bool = option(False, "spectral norm on every convolution, transposed convolution and linear layer "
                                 "of G and D", flag="sn")
    sn_nets: str = option("both", "with --sn: both nets (the paper's), or d: D alone, G without spectral norm",
                          choices=SN_NETS)
    attention: str = option("article", "SAGAN's block: the article's (4x4 convolutions, batch norm, ReLU) or the "
                            "SAGAN paper's (1x1 convolutions, pooled keys, an output convolution)",
                            choices=ATTENTION_BLOCKS)
    ema_decay: float = option(0.999, "decay of the moving average of G's weights that every run keeps beside them",
                              bounds=(0.0, 0.99999), low_open=False)
    ema_warmup: bool = option(False, "warm the average up: at G update t its decay is min(--ema_decay, (1 + t) / "
                              "(10 + t)), as in TensorFlow's ExponentialMovingAverage with num_updates")
    lr_decay_start: Optional[float] = option(None, "both learning rates fall linearly to 0 from this fraction of the "
                                             "--epoch steps to the last", bounds=(0.0, 0.999), low_open=False)
    conditional: bool = option(False, "class-conditional GAN or SAGAN, as the SAGAN paper's model: G's batch norms "
                               "take per-class gamma and beta, D is a projection discriminator; trained on the "
                               "dataset's labels")
    standing_batches: int = option(64, "batches of z the averaged G's batch-norm statistics are taken over whenever "
                                   "it is used", bounds=(1, 100_000))
    ema_widths: Tuple[float, ...] = option((), "also keep EDM2's power-function averages of G of these widths "
                                           "(sigma_rel, relative to the run's length), e.g. 0.05,0.1,0.2; --weights "
                                           "ema_sigma0.1 names one; eval measures each", parse=parse_widths)
    d_steps: int = option(1, "D updates per G update, each on its own real batch; an epoch stays one pass over the "
                          "data", bounds=(1, 100))

    def __post_init__(self):
        for field, allowed in (("gan_type", MODEL_NAMES), ("dataset", DATASETS), ("precision", PRECISIONS),
                               ("train_step", TRAIN_STEPS), ("loss", LOSSES), ("attention", ATTENTION_BLOCKS),
                               ("sn_nets", SN_NETS)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} {getattr(self, field)!r} is not one of {allowed}")
        if self.sn_nets != "both" and not self.spectral_norm:
            raise ValueError(f"--sn_nets {self.sn_nets} needs spectral norm on: add --sn or --recipe paper")
        if self.lr_decay_start is not None and not 0 <= self.lr_decay_start < 1:
            raise ValueError(f"lr_decay_start {self.lr_decay_start} is not in [0, 1)")
        object.__setattr__(self, "ema_widths", tuple(sorted(set(float(w) for w in self.ema_widths))))
        if not all(0 < w <= MAX_EMA_WIDTH for w in self.ema_widths):
            raise ValueError(f"ema_widths {self.ema_widths}: each width is in (0, {MAX_EMA_WIDTH}]")
        if int(self.d_steps) != self.d_steps or self.d_steps < 1:
            raise ValueError(f"d_steps {self.d_steps} is not a whole number of at least 1")
        object.__setattr__(self, "d_steps", int(self.d_steps))

    @property
    def weights(self):
        """The names of the Gs a run of this configuration keeps: raw, ema, then ema_sigma<width> for each width."""
        return WEIGHTS + tuple(width_weights(w) for w in self.ema_widths)

    @property
    def g_spectral_norm(self):
        """Whether G's layers are spectral-normed; D's are whenever spectral_norm is on."""
        return self.spectral_norm and self.sn_nets == "both"

    @property
    def d_learning_rate(self):
        """D's Adam learning rate."""
        return self.learning_rate if self.lr_d is None else self.lr_d

    @property
    def g_learning_rate(self):
        """G's Adam learning rate."""
        return self.learning_rate * self.g_lr_ratio if self.lr_g is None else self.lr_g


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How long to train and how often to save, log and evaluate."""

    epoch: int = option(20, "epochs to train in all", bounds=(1, 100_000))
    save_every: int = option(500, "checkpoint every N steps", bounds=(1, 10**9))
    log_every: int = option(50, "losses to steps.csv and TensorBoard every N steps", bounds=(1, 10**9))
    eval_every: int = option(1, "FCD and classifier score of 5,000 samples every N epochs while training; 0 turns it "
                             "off", bounds=(0, 100_000))
    epoch_eval_samples: int = option(5000, "generated images of each weights that the per-epoch FCD measures",
                                     bounds=(10, MAX_IMAGES))
    stop_after_steps: Optional[int] = option(None, "save and stop after N steps of this run; run again to continue",
                                             bounds=(1, 10**9))
    weights: str = "raw"  # of the per-epoch grids and of the best checkpoint: G's own, or their average ("ema")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """How much --phase eval and compare measure beyond --num_eval_samples."""

    cas_images: int = option(60_000, "with --phase eval of a --conditional run: generated (and real) images the "
                             "classification accuracy score's classifiers learn from", bounds=(10, MAX_IMAGES))


@dataclasses.dataclass(frozen=True)
class ParallelConfig:
    """Where one model trains: one device (the default), several of this machine, or a cluster's.

    None of it is in model_dir: a run's checkpoints go on with any number of devices.
    """

    devices: Tuple[str, ...] = option(("1",), "train on N devices of this machine (its GPUs, else N logical CPUs), or on "
                                      "the devices named, e.g. /gpu:0,/gpu:1; the batch is split over them",
                                      parse=parse_devices)
    sync_bn: bool = option(False, "with several devices, batch norm takes the statistics of the whole batch, not each "
                           "device's slice")
    cluster: Tuple[Tuple[str, str], ...] = ()  # (job, host:port) of each task, the chief first
    task_index: int = 0  # this process's place in cluster
    probe_seconds: float = option(5.0, "with --cluster: how often a worker checks that the chief still answers; a "
                                  "worker stops within two probes of the chief's death", bounds=(0.0, 3600.0))

    @property
    def local_count(self):
        """--devices as a count of this machine's devices, or None when it names devices."""
        return int(self.devices[0]) if len(self.devices) == 1 and self.devices[0].isdigit() else None

    @property
    def tower_count(self):
        """How many towers split each batch: the count on every task of the cluster, or one per named device."""
        return len(self.devices) if self.local_count is None else self.local_count * max(1, len(self.cluster))

    @property
    def is_chief(self):
        """Whether this process runs the training loop (the only one, or the cluster's first task)."""
        return self.task_index == 0


@dataclasses.dataclass(frozen=True)
class Folders:
    """The roots under which each run keeps its own <model_dir> folder."""

    checkpoint_dir: str = option("checkpoint", "checkpoints go in <this>/<model_dir>")
    result_dir: str = option("results", "images and CSV logs go in <this>/<model_dir>")
    log_dir: str = option("logs", "TensorBoard logs go in <this>/<model_dir>")
    data_dir: str = option("data", "datasets live in <this>/<dataset>")

    def of(self, kind, model_dir):
        """checkpoint/, results/ or logs/ folder of a run; not created."""
        root = {"checkpoint": self.checkpoint_dir, "result": self.result_dir, "log": self.log_dir}[kind]
        return os.path.join(root, model_dir)

    def made(self, kind, model_dir):
        """The folder of(kind, model_dir), created if it is not there yet: for a phase about to write into it."""
        path = self.of(kind, model_dir)
        os.makedirs(path, exist_ok=True)
        return path


def _number(value):
    return format(value, ".10g")


def width_weights(width):
    """The --weights name of the power-function average of width: ema_sigma0.1."""
    return WIDTH_WEIGHTS + _number(width)


def weights_width(weights):
    """The width of an ema_sigma<width> name, or None for raw, ema and names that are none of these."""
    if not weights.startswith(WIDTH_WEIGHTS):
        return None
    try:
        return float(weights[len(WIDTH_WEIGHTS):])
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class Tag:
    """How one ModelConfig field names a run's folder: a tag for a value off the default, read back by read."""

    field: str
    prefix: str  # a flag's whole tag; a number's or a choice's text before the value
    kind: str = "number"  # "number", "flag" (a bool, True) or "choice" (the choice's name after the prefix)
    models: Tuple[str, ...] = MODEL_NAMES  # the models whose folders it names
    attribute: Optional[str] = None  # the config's attribute written, when not the field (an effective rate)

    def write(self, config, default):
        """The tag of config's value, or None at default's."""
        name = self.attribute or self.field
        value = getattr(config, name)
        if config.gan_type not in self.models or value == getattr(default, name):
            return None
        return self.prefix if self.kind == "flag" else self.prefix + (value if self.kind == "choice" else
                                                                     _number(value))

    def read(self, tag):
        """The field's value that tag names, or None when it names none."""
        if self.kind == "flag":
            return True if tag == self.prefix else None
        if not tag.startswith(self.prefix) or tag == self.prefix:
            return None
        text = tag[len(self.prefix):]
        if self.kind == "choice":
            return text if text in ModelConfig.__dataclass_fields__[self.field].metadata["choices"] else None
        number = int if isinstance(ModelConfig.__dataclass_fields__[self.field].default, int) else float
        try:
            return number(text)
        except ValueError:
            return None


# Every tag a run's folder name may carry, in the order model_dir writes them, after "paper" (PAPER_RECIPE's).
TAGS = (Tag("loss", "", "choice"), Tag("spectral_norm", "sn", "flag"), Tag("sn_nets", "sn", "choice"),
        Tag("attention", "att", "choice", models=("SAGAN",)), Tag("lr_d", "lrd", attribute="d_learning_rate"),
        Tag("lr_g", "lrg", attribute="g_learning_rate"), Tag("beta1", "b1"), Tag("beta2", "b2"),
        Tag("ema_decay", "ema"), Tag("ema_warmup", "emawarmup", "flag"), Tag("lr_decay_start", "lrdecay"),
        Tag("d_steps", "dsteps"), Tag("conditional", "cond", "flag"))
PAPER_TAG = "paper"


def _paper_fields(config):
    """The PAPER_RECIPE fields that config's "paper" tag stands for, or {} when it does not take that tag: every
    value of the recipe (the effective rates), and for SAGAN the paper's block."""
    values = dict(loss=config.loss, spectral_norm=config.spectral_norm, lr_d=config.d_learning_rate,
                  lr_g=config.g_learning_rate, beta1=config.beta1, beta2=config.beta2, attention=config.attention)
    covered = {k for k in PAPER_RECIPE if k != "attention" or config.gan_type != "GAN"}
    return covered if all(values[k] == PAPER_RECIPE[k] for k in covered) else set()


def recipe_tags(config):
    """The non-default training choices of config as short tags (TAGS), in a fixed order; [] for the article's."""
    default = ModelConfig(config.gan_type)
    paper = _paper_fields(config)
    tags = [PAPER_TAG] if paper else []
    return tags + [t for t in (tag.write(config, default) for tag in TAGS if tag.field not in paper) if t is not None]


def model_dir(config):
    """The framework's {gan_type}_{dataset}_{batch_size}_{z_dim}, plus _seed{N} off seed 0, the recipe's tags, _bf16.

    The article's recipe adds no tag, so its runs keep the folder names they always had.
    """
    name = f"{config.gan_type}_{config.dataset}_{config.batch_size}_{config.z_dim}"
    if config.seed != 0:
        name += f"_seed{config.seed}"
    name += "".join("_" + tag for tag in recipe_tags(config))
    return name + PRECISION_SUFFIX[config.precision]


_SUFFIX_PRECISION = {suffix: precision for precision, suffix in PRECISION_SUFFIX.items()}
_MODEL_DIR = re.compile(rf"^({'|'.join(MODEL_NAMES)})_({'|'.join(map(re.escape, DATASETS))})_(\d+)_(\d+)"
                        rf"(?:_seed(\d+))?((?:_[a-z][a-z0-9.e+-]*)*?)({'|'.join(map(re.escape, _SUFFIX_PRECISION))})$")
def _parse_tag(tag, fields):
    """Add the fields a tag names (TAGS, read back); False for a tag model_dir never writes."""
    if tag == PAPER_TAG:
        fields.update({k: v for k, v in PAPER_RECIPE.items() if k != "attention" or fields["gan_type"] != "GAN"})
        return True
    # a flag's exact tag first, then the longest prefix: emawarmup is not ema, lrdecay is not lrd
    for entry in sorted(TAGS, key=lambda t: (t.kind != "flag", -len(t.prefix))):
        value = entry.read(tag)
        if value is not None and fields["gan_type"] in entry.models:
            fields[entry.field] = value
            return True
    return False


def parse_model_dir(name):
    """model_dir's inverse: {'gan_type', 'dataset', 'batch_size', 'z_dim', 'seed', 'precision'} plus the
    ModelConfig fields its tags name; None for a name model_dir would not write."""
    match = _MODEL_DIR.match(name)
    if match is None:
        return None
    gan_type, dataset, batch_size, z_dim, seed, tags, suffix = match.groups()
    fields = dict(gan_type=gan_type, dataset=dataset, batch_size=int(batch_size), z_dim=int(z_dim),
                  seed=int(seed or 0), precision=_SUFFIX_PRECISION[suffix])
    if tags and not all(_parse_tag(tag, fields) for tag in tags[1:].split("_")):
        return None
    try:
        if model_dir(ModelConfig(**fields)) != name:  # e.g. an explicit _seed0, a leading zero, a default
            return None
    except (ValueError, TypeError):
        return None
    return fields


def architecture(config, net):
    """The architecture string of a configuration's net, 'G' or 'D', in the framework's notation."""
    attention = {"article": "ATT-", "paper": "ATT(paper)-"}[config.attention] if config.gan_type == "SAGAN" else ""
    g_norm = "cB" if config.conditional else "B"  # a class-conditional G's batch norms
    if net == "G":
        return (f"z({config.z_dim}){',y' if config.conditional else ''}-FC1024_{g_norm}R-FC7x7x128_{g_norm}R-"
                f"{attention}(64)4dc2s_{g_norm}R-(1)4dc2s_S")
    return (f"(64)4c2s_L-(128)4c2s_BL-{attention}FC1024_BL-FC1{'+proj(y)' if config.conditional else ''}")


def configuration_label(config):
    """A configuration's name in reports: its model_dir without dataset, sizes, seed and precision."""
    return config.gan_type + "".join("_" + tag for tag in recipe_tags(config))


def learning_rate_scale(step, total_steps, decay_start):
    """The factor on both learning rates at a step: 1, then falling linearly from decay_start (a fraction of
    total_steps) to 0 at the last step; always 1 when decay_start is None."""
    if decay_start is None:
        return 1.0
    first = decay_start * total_steps
    if step < first:
        return 1.0
    return max(0.0, (total_steps - step) / max(total_steps - first, 1))


def model_class(gan_type):
    """The model class registered under gan_type: class <gan_type> of module <gan_type>, imported on demand so
    that TensorFlow loads only when needed."""
    import importlib
    if gan_type not in MODEL_NAMES:
        raise ValueError(f"unknown model {gan_type!r}")
    return getattr(importlib.import_module(gan_type), gan_type)
