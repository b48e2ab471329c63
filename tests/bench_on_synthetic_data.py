"""bench's real-epoch child for subprocess tests: synthetic IDX files cannot carry the real hashes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import run as bench  # noqa: E402
from common import data  # noqa: E402

data.KNOWN_SHA256.clear()
bench.main()
