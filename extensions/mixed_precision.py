"""--precision bfloat16: the nets compute in bfloat16 on float32 weights, as a custom getter on their
variable_scope (the float32-storage getter of NVIDIA's TF1 mixed-precision guide).

A layer in ops.py asks for its weights in its input's dtype; this getter makes the variable float32 and
hands back a bfloat16 copy, so the optimisers, the averaged G and the checkpoints see float32 alone.
Batch norm asks for float32 and keeps its arithmetic there; the nets cast their input and their output.
"""
import tensorflow as tf


def float32_storage(getter, name, *args, dtype=tf.float32, **kwargs):
    """A custom getter: the variable stored as float32, read in the dtype asked for."""
    variable = getter(name, *args, dtype=tf.float32, **kwargs)
    return variable if dtype.base_dtype == tf.float32 else tf.cast(variable, dtype)
