"""main.py for subprocess tests: the synthetic IDX files the tests write cannot carry the real hashes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import main  # noqa: E402
from common import data  # noqa: E402
from tiny import size_argv  # noqa: E402

data.KNOWN_SHA256.clear()
sys.exit(main.main(size_argv() + sys.argv[1:]))
