"""In-graph replication: one tower per device, all built in one graph and sharing one set of variables.

Each tower takes an equal slice of the global batch. The variables live once, on the parameter device,
so the towers cannot drift apart; the gradient of the towers' mean loss is the mean of their gradients,
and one apply_gradients moves every tower. Batch norm normalises each tower's slice by its own
statistics (as PyTorch's DataParallel does), or with sync_bn by those of the whole global batch,
all-reduced over the towers with TensorFlow's collective ops. What moves once a step (batch norm's
moving averages, spectral norm's u) moves from the first tower's pass, as on one device. Each tower hands
its batch norms its statistics (Tower.statistics); no module keeps the tower being built.
"""
import contextlib
import dataclasses
from typing import Optional, Tuple

import tensorflow as tf

from ops import BatchStatistics

tf1 = tf.compat.v1

GROUP_KEY = 1  # every tower of a model is one collective group
FIRST_INSTANCE_KEY = 100  # of the forward collectives; their gradients' keys start at FIRST_BACKWARD_KEY
FIRST_BACKWARD_KEY = 1_000_000
COLLECTIVE_TIMEOUT_SECONDS = 300  # a tower whose peer is gone fails instead of waiting for ever
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable", "AutoReloadVariable"})


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where a model's ops go: its towers' devices (none: one device, as always) and its variables'."""

    devices: Tuple[str, ...] = ()
    params_device: Optional[str] = None
    sync_bn: bool = False

    def device_scope(self):
        """The parameter device's scope, or none for one device."""
        return tf1.device(self.params_device) if self.params_device else contextlib.nullcontext()


ONE_DEVICE = Placement()


class _Group:
    """What the towers of one model share: the instance keys of their collectives."""

    def __init__(self, count):
        self.count = count
        self.backward_keys = {}  # (forward key, n): the key of the n-th gradient built through that collective

    def backward_key(self, forward_key, n):
        """The same key for the n-th gradient of a collective in every tower (each tf.gradients builds one)."""
        return self.backward_keys.setdefault((forward_key, n), FIRST_BACKWARD_KEY + len(self.backward_keys))


class Tower:
    """One replica of the nets: its index, its device, and the keys of its collectives."""

    def __init__(self, index, group, device, params_device, sync_bn):
        self.index, self.count, self.group, self.device = index, group.count, group, device
        self.params_device, self.sync_bn = params_device, sync_bn
        self._collectives = 0  # every tower builds the same collectives in the same order: the k-th ones meet
        self._gradients_built = {}  # forward key: how many gradients this tower built through it
        self.statistics = TowerStatistics(self)  # what its batch norms normalise by

    @contextlib.contextmanager
    def scope(self):
        """Ops built inside go on this tower's device, variables on the parameter device."""
        with tf1.device(self._place), tf1.name_scope(f"tower_{self.index}/"):
            yield self

    def _place(self, op):
        return self.params_device if op.type in VARIABLE_OPS else self.device

    def all_sum(self, x):
        """The sum of x over the towers, in every tower; its gradient is the sum of theirs."""
        forward_key = FIRST_INSTANCE_KEY + self._collectives
        self._collectives += 1

        def reduce(value, instance_key):
            return tf.raw_ops.CollectiveReduce(input=value, group_size=self.count, group_key=GROUP_KEY,
                                               instance_key=instance_key, merge_op="Add", final_op="Id",
                                               subdiv_offsets=[0], timeout_seconds=COLLECTIVE_TIMEOUT_SECONDS)

        def gradient(grad):
            # Every tower reads the sum, so each one's input gets the sum of all the towers' gradients.
            n = self._gradients_built.get(forward_key, 0)
            self._gradients_built[forward_key] = n + 1
            return reduce(grad, self.group.backward_key(forward_key, n))

        @tf.custom_gradient
        def summed(value):
            return reduce(value, forward_key), gradient

        return summed(x)


def towers(devices, params_device, sync_bn):
    """A Tower per device, or [] for one device: the nets are then built as they always were."""
    if len(devices) < 2:
        return []
    group = _Group(len(devices))
    return [Tower(i, group, device, params_device, sync_bn) for i, device in enumerate(devices)]


class TowerStatistics(BatchStatistics):
    """A tower's batch statistics: its own slice's, or with sync_bn the global batch's, all-reduced over the towers;
    only the first tower's pass moves the moving averages, once a step."""

    def __init__(self, tower):
        self.tower = tower
        self.moves_averages = tower.index == 0

    def normalise(self, x, gamma, beta, epsilon, axes):
        if not self.tower.sync_bn:
            return super().normalise(x, gamma, beta, epsilon, axes)
        mean, variance = self.global_moments(x, axes)
        return tf.nn.batch_normalization(x, mean, variance, beta, gamma, epsilon), mean, variance

    def count(self, x, axes):
        return super().count(x, axes) * (self.tower.count if self.tower.sync_bn else 1)

    def global_moments(self, x, axes):
        """(mean, variance) over axes of the global batch whose slice is x, keepdims; x float32."""
        count = self.count(x, axes)  # the towers' slices are equal
        mean = self.tower.all_sum(tf.reduce_sum(x, axes, keepdims=True)) / count
        # Two passes, as tf.nn.moments: no cancellation between E[x^2] and E[x]^2.
        variance = self.tower.all_sum(tf.reduce_sum(tf.math.squared_difference(x, mean), axes, keepdims=True)) / count
        return mean, variance


def slices(tensor, count):
    """tensor split into count equal slices along the batch; [tensor] for count <= 1."""
    return [tensor] if count <= 1 else tf.split(tensor, count)


def mean_of(tensors):
    """The mean of the towers' tensors; the tensor itself for one."""
    return tensors[0] if len(tensors) == 1 else tf.add_n(tensors) / float(len(tensors))
