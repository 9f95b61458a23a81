"""Start-up benchmark: wall time of ``cql -e`` on a small embedded database
against peers run in the same go, reported as ratios of medians.

    python bench/startup.py [--runs N]

Peers: ``python -c "import json"`` (the floor for any Python CLI),
``python -c "import sqlite3"``, ``sqlite3 DB "select ..."`` (C, no Python) and
``litecli -e`` when installed (``pip install litecli``; not a project
dependency). Targets: cql -e <= 0.5 x litecli -e, and <= 6 x python -c "import json".
Also prints python -X importtime's top cumulative imports of the cql -e path.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

PY = sys.executable
SQLITE = "sqlite3 DB 'select ...'"


def timed(cmd: List[str], runs: int, env: Optional[dict] = None) -> float:
    """Median wall time in seconds over ``runs`` runs (after one warm-up)."""
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
    return statistics.median(times)


def cql_command() -> List[str]:
    exe = shutil.which("cql")
    return [exe] if exe else [PY, "-m", "cql"]


def import_profile(cmd_args: List[str], top: int = 8) -> List[str]:
    """The slowest cumulative imports (python -X importtime) of ``cql`` args."""
    proc = subprocess.run([PY, "-X", "importtime", "-m", "cql", *cmd_args], capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        rows.append((int(parts[1].strip()), parts[2].rstrip()))
    rows.sort(reverse=True)
    return [f"{us / 1000:7.1f} ms  {name.strip()}" for us, name in rows[:top]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        values = ", ".join(f"('t{i}', {i})" for i in range(20))
        subprocess.run(cql_command() + ["-e", f"insert into Todo (title, n) values {values}", db], check=True,
                       stdout=subprocess.DEVNULL)
        lite = os.path.join(tmp, "lite.sqlite")
        con = sqlite3.connect(lite)
        con.execute("create table Todo (title text, n int)")
        con.executemany("insert into Todo values (?, ?)", [(f"t{i}", i) for i in range(20)])
        con.commit()
        con.close()

        query = "select count(*) from Todo"
        results = {}
        results["python -c 'import json'"] = timed([PY, "-c", "import json"], args.runs)
        results["python -c 'import sqlite3'"] = timed([PY, "-c", "import sqlite3"], args.runs)
        if shutil.which("sqlite3"):
            results[SQLITE] = timed(["sqlite3", lite, query], args.runs)
        results["cql -e (embedded)"] = timed(cql_command() + ["-e", query, db], args.runs)
        results["cql -e (transient)"] = timed(cql_command() + ["-e", "select count(*) from Todo"], args.runs)
        litecli = shutil.which("litecli")
        if litecli:
            results["litecli -e"] = timed([litecli, "-e", query, lite], args.runs)

    width = max(len(k) for k in results)
    print(f"median wall time of {args.runs} runs")
    for name, secs in results.items():
        print(f"  {name.ljust(width)}  {secs * 1000:8.1f} ms")
    cql_t = results["cql -e (embedded)"]
    print("ratios")
    base = results["python -c 'import json'"]
    print(f"  cql -e / python -c 'import json' = {cql_t / base:5.2f}   (target <= 6)")
    if SQLITE in results:
        print(f"  cql -e / sqlite3 CLI             = {cql_t / results[SQLITE]:5.2f}")
    if "litecli -e" in results:
        print(f"  cql -e / litecli -e              = {cql_t / results['litecli -e']:5.2f}   (target <= 0.5)")
    else:
        print("  litecli not installed (pip install litecli) - no litecli ratio")
    print("slowest imports of cql -e (cumulative, python -X importtime)")
    for line in import_profile(["-e", "select count(*) from Todo"]):
        print("  " + line)


if __name__ == "__main__":
    main()
