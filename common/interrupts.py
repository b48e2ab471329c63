"""Ctrl-C and SIGTERM wherever they land: one line on what was kept, status 130 or 143, nothing half-written.

The training loop has its own, gentler handling (it finishes the step and saves); everywhere else the
signal stops the program at once, and these helpers make sure that leaves no file half-written.
"""
import contextlib
import os
import shutil
import signal

from common.errors import Interrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that the same unwinding cleans up after both."""


def _raise_terminated(_signum, _frame):
    raise _Terminated


@contextlib.contextmanager
def activity(doing, kept):
    """Name what the program is doing, and what a stop during it keeps, for the one-line message."""
    try:
        yield
    except (KeyboardInterrupt, _Terminated) as stop:
        if not hasattr(stop, "activity"):  # the innermost activity names it
            stop.activity = (doing, kept)
        raise


@contextlib.contextmanager
def stops_reported():
    """Turn Ctrl-C and SIGTERM within the block into Interrupted, with the message of the current activity."""
    # Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored (a background job).
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated),
                signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler)}
    try:
        yield
    except (KeyboardInterrupt, _Terminated) as stop:
        signum = signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM
        doing, kept = getattr(stop, "activity", ("starting", "nothing was written"))
        raise Interrupted(128 + signum, f"stopped by {signal.Signals(signum).name} while {doing}: {kept}; "
                                        f"run the same command to continue") from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, then act on the first one as the handler in place would."""
    received = []
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum)) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(received[0])


@contextlib.contextmanager
def replaced_atomically(path):
    """Yield a temporary path beside path; on success it becomes path in one rename, never half-written."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".partial-{os.getpid()}-{name}")  # the same extension, for writers that read it
    try:
        yield tmp
        with deferred():
            os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.remove(tmp)
