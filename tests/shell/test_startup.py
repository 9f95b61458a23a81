"""`cql -e` must not pay for the interactive shell (prompt_toolkit) nor, on an
embedded target, for the HTTP client (requests)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = r"""
import sys
from cql.cli import main
rc = main(["-e", "insert into X (a) values (1); select count(*) from X", sys.argv[1]])
heavy = sorted(m for m in ("prompt_toolkit", "requests", "pygments") if m in sys.modules)
print("RC", rc, "HEAVY", ",".join(heavy) or "-")
"""


def test_execute_imports_no_prompt_toolkit_nor_requests(tmp_path):
    r = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "db")], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "RC 0 HEAVY -", r.stdout + r.stderr
