"""Graph-building helpers that are no layer: arg scopes, collections, ordering, loading values."""
import contextlib
import functools

import tensorflow as tf

tf1 = tf.compat.v1


_ARG_SCOPES = [{}]  # the stack of arg_scope's defaults: {function's key: {argument: value}}


@contextlib.contextmanager
def arg_scope(functions, **defaults):
    """Inside the block, each function of functions (decorated with add_arg_scope) takes defaults for the
    arguments its caller does not give: TF1's slim.arg_scope, the way a net's layers are configured from outside
    the lines that call them."""
    current = dict(_ARG_SCOPES[-1])
    for function in functions:
        key = function.arg_scope_key
        current[key] = {**current.get(key, {}), **defaults}
    _ARG_SCOPES.append(current)
    try:
        yield
    finally:
        _ARG_SCOPES.pop()


def add_arg_scope(function):
    """function, taking its arguments' defaults from the innermost arg_scope that names it."""
    @functools.wraps(function)
    def scoped(*args, **kwargs):
        return function(*args, **{**_ARG_SCOPES[-1].get(scoped.arg_scope_key, {}), **kwargs})
    scoped.arg_scope_key = f"{function.__module__}.{function.__qualname__}"
    return scoped


@contextlib.contextmanager
def new_entries(*collections):
    """{collection: the entries added to it inside the block}."""
    first = {c: len(tf1.get_collection(c)) for c in collections}
    added = {}
    yield added
    added.update({c: tf1.get_collection(c)[first[c]:] for c in collections})


def then(op, build_after):
    """op, then the ops that build_after() makes, built under op so that they run after it; as one op."""
    with tf.control_dependencies([op]):
        return tf.group(op, *build_after())


def load_values(sess, values):
    """Set each variable of {variable: array} to its array, in one session.run (a run per variable costs ~30 ms)."""
    feeds, assigns = {}, []
    for variable, value in values.items():
        placeholder = tf1.placeholder(variable.dtype.base_dtype, variable.shape)
        feeds[placeholder] = value
        assigns.append(tf1.assign(variable, placeholder))
    sess.run(tf.group(*assigns), feeds)
