"""Every exception the program raises on purpose; each carries the exit status main.py returns for it."""


class UserError(Exception):
    """A problem the user can fix; main.py prints it on one line and exits with status 2."""

    exit_status = 2


class Interrupted(Exception):
    """Stopped by Ctrl-C or SIGTERM; the message says what was kept and how to continue."""

    def __init__(self, exit_status, message):
        super().__init__(message)
        self.exit_status = exit_status


class NonFinite(Exception):
    """A loss or weight became NaN or inf; nothing was saved after the last finite checkpoint."""

    exit_status = 1

    def __str__(self):
        return f"training stopped: {super().__str__()}; the last finite checkpoint is kept"


class CorruptCheckpoint(Exception):
    """A checkpoint whose files are missing or unreadable; loading falls back to the one before."""


class WorkerLost(Exception):
    """A task of a --cluster run stopped answering; the chief's last checkpoint is intact."""

    exit_status = 1
