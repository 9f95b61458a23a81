"""The API fuzzer (fuzz_api.py) in CI: a few thousand seeded inputs, bounded in
time; the 100,000-input run is ``python3 tests/fuzz/fuzz_api.py``."""
from __future__ import annotations

import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fuzz_api import fuzz  # noqa: E402


def test_no_escapes_from_hostile_parameters():
    out = io.StringIO()
    escapes = fuzz(3000, seed=int(os.environ.get("CQL_FUZZ_SEED", "12")), stall=10.0, out=out)
    assert escapes == [], out.getvalue()
    assert "ok " in out.getvalue()  # the inputs got past binding, not only refused
