"""--spectral_norm: every layer weight of a net divided by its largest singular value (Miyato et al. 2018),
as a custom getter on the net's variable_scope. The layers in ops.py ask for their weights as always and
get w / sigma(w); biases, batch norm and the attention scales are left as they are.

sigma comes from one power iteration from a stored vector u per weight. u moves only where a model assigns
it the next value this adds to SN_U_NEXT: the training step does that for the one pass of each net that
should move it, so inference and the G step's pass through D leave it where it is.
"""
import tensorflow as tf

tf1 = tf.compat.v1

# Graph collections pairing each spectral-normed weight's u with its next value after one power iteration.
SN_U, SN_U_NEXT = "spectral_norm_u", "spectral_norm_u_next"
WEIGHT_NAMES = ("w", "Matrix", "embedding")  # conv2d's, deconv2d's and conv1x1's, linear's, the projection's


def inverse_sigma(w):
    """1 / sigma(w), from one power iteration on w as a matrix W [-1, last dim] from the stored u, which it makes
    in the current variable scope."""
    w_matrix = tf.reshape(w, [-1, w.get_shape()[-1]])  # [k_h * k_w * in, out], or [..., in] for a deconv kernel
    u = tf1.get_variable("u", [1, w.get_shape()[-1]], tf.float32, tf1.truncated_normal_initializer(),
                         trainable=False)
    v = tf.stop_gradient(tf.math.l2_normalize(tf.matmul(u, w_matrix, transpose_b=True)))  # [1, k]
    w_v = tf.matmul(v, w_matrix)  # [1, out]; sigma's gradient reaches W through it
    u_next = tf.stop_gradient(tf.math.l2_normalize(w_v))
    tf1.add_to_collection(SN_U, u)  # a model with towers takes the first tower's pair
    tf1.add_to_collection(SN_U_NEXT, u_next)
    return 1.0 / tf.reduce_sum(w_v * u_next)


def spectral_normed(w):
    """w / sigma(w) (inverse_sigma)."""
    return w * inverse_sigma(w)


def u_updates(entries):
    """The assignments that move each u of a pass to its next value, from the {collection: entries} that
    common.graph.new_entries gathered around the pass."""
    return [tf1.assign(u, u_next) for u, u_next in zip(entries[SN_U], entries[SN_U_NEXT])]


def normed_weights(getter, name, *args, **kwargs):
    """A custom getter: a layer weight (WEIGHT_NAMES) comes back as w / sigma(w), every other variable as it is."""
    variable = getter(name, *args, **kwargs)
    return spectral_normed(variable) if name.rsplit("/", 1)[-1] in WEIGHT_NAMES else variable
