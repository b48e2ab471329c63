"""TensorFlow as this project uses it: imported quietly, graph mode, session options, and the CPU's features."""
import contextlib
import os
import re
import sys
import tempfile

# Start-up lines of TensorFlow's C++ runtime that tell a user nothing: absl's notice that logging is not
# initialised (printed before TF_CPP_MIN_LOG_LEVEL is read), oneDNN's notice, and the CUDA probes of a
# machine without a GPU. Any other line written while TensorFlow starts is passed on.
STARTUP_NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                 "Could not find cuda drivers", "failed call to cuInit", "Unable to register cu",
                 "TF-TRT Warning", "This TensorFlow binary is optimized to use available CPU instructions",
                 "To enable the following instructions")
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of bfloat16 arithmetic in hardware
FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8")

_tf = None


NATIVE_LOG_LINE = re.compile(r"^([IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|\t \[\[\{\{node )")


@contextlib.contextmanager
def _filtered_stderr(noise=lambda line: any(n in line for n in STARTUP_NOISE)):
    """Capture file descriptor 2 (where C++ writes) and pass on every line that is not noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not noise(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def tensorflow():
    """The tensorflow module in graph mode, its start-up noise filtered out; imported once per process."""
    global _tf
    if _tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _filtered_stderr():
            import tensorflow as tf
            tf.config.list_physical_devices()  # the CUDA probe runs here, inside the filter
        tf.compat.v1.disable_eager_execution()
        _tf = tf
    return _tf


def native_logs_dropped():
    """A block during which TensorFlow's C++ info and warning lines are dropped and the rest of stderr held back.

    For a cluster's worker, whose runtime logs every server event and every cancelled wait.
    """
    return _filtered_stderr(lambda line: bool(NATIVE_LOG_LINE.match(line)) or any(n in line for n in STARTUP_NOISE))


def session_config():
    """The session options of every graph of the project."""
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
    config = config_pb2.ConfigProto()
    # Grappler's remapper fuses d_conv1's conv, bias and leaky ReLU although the gradient still reads
    # the bias output; it then logs an error and leaves the graph unchanged, so skip it outright.
    config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return config


def cpu_flags(cpuinfo_path="/proc/cpuinfo"):
    """The CPU's feature flags as a set; empty where /proc/cpuinfo cannot be read."""
    try:
        with open(cpuinfo_path) as f:
            return set(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        return set()


def bfloat16_in_hardware(flags=None, environ=None):
    """True when oneDNN can run bfloat16 on this CPU natively; False when it would emulate it."""
    flags = cpu_flags() if flags is None else flags
    environ = os.environ if environ is None else environ
    capped = environ.get("ONEDNN_MAX_CPU_ISA", "").upper()  # a user's cap on oneDNN's instructions
    if capped and capped != "ALL" and not any(word in capped for word in ("BF16", "AMX", "AVX10")):
        return False
    return any(flag in flags for flag in BFLOAT16_CPU_FLAGS)


def describe_cpu(flags=None):
    """The CPU's model name and the flags that decide its speed here, in one line."""
    flags = cpu_flags() if flags is None else flags
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    shown = [flag for flag in FLAGS_OF_INTEREST if flag in flags]
    return f"{model} ({' '.join(shown) or 'none of ' + ' '.join(FLAGS_OF_INTEREST)})"


def describe_machine(gpus=0):
    """What trained an epoch, for the seconds beside it: describe_cpu(), the cores, and the GPUs if any."""
    return f"{describe_cpu()}, {os.cpu_count()} cores" + (f", {gpus} GPU(s)" if gpus else "")


@contextlib.contextmanager
def graph_session():
    """A session on a new graph, made the default graph, with the project's options."""
    tf = tensorflow()
    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        yield sess
