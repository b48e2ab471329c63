"""main.py for subprocess tests: the synthetic IDX files the tests write cannot carry the real hashes.

`A... --then B...` runs main.main(A) and then main.main(B) in this one process; the first failing status wins.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import main  # noqa: E402
from common import data  # noqa: E402
from tiny import size_argv  # noqa: E402

data.KNOWN_SHA256.clear()
commands, status = [[]], 0
for arg in sys.argv[1:]:
    commands.append([]) if arg == "--then" else commands[-1].append(arg)
for argv in commands:
    status = status or main.main(size_argv() + argv)
sys.exit(status)
