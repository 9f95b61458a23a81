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
from typing import Dict, List, Optional

PY = sys.executable
SQLITE = "sqlite3 DB 'select ...'"


def timed_all(commands: Dict[str, List[str]], runs: int, env: dict) -> Dict[str, float]:
    """Median wall time (seconds) per command. Runs go round-robin (one of each
    per round, after one warm-up round that also compiles byte-code), so load
    from elsewhere on the machine falls on every contestant alike."""
    times: Dict[str, List[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, cmd in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
            if round_:
                times[name].append(elapsed)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cql_command() -> List[str]:
    """``python -m cql`` (what the console script runs, minus any shim such as
    pyenv's, which would add the same constant to every contestant)."""
    return [PY, "-m", "cql"]


def litecli_command() -> Optional[List[str]]:
    try:
        import importlib.util
        if importlib.util.find_spec("litecli") is None:
            return None
    except (ImportError, ValueError):
        return None
    return [PY, "-m", "litecli.main"]


def import_profile(cmd_args: List[str], env: dict, top: int = 8) -> List[str]:
    """The slowest cumulative imports (python -X importtime) of ``cql`` args."""
    proc = subprocess.run([PY, "-X", "importtime", "-m", "cql", *cmd_args], capture_output=True, text=True, env=env)
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
        # Byte-code as an installed program has it: compiled once (the warm-up
        # run), into a cache of this run's own, for every contestant alike.
        env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
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
        commands = {
            "python -c 'import json'": [PY, "-c", "import json"],
            "python -c 'import sqlite3'": [PY, "-c", "import sqlite3"],
        }
        if shutil.which("sqlite3"):
            commands[SQLITE] = ["sqlite3", lite, query]
        commands["cql -e (embedded)"] = cql_command() + ["-e", query, db]
        commands["cql -e (transient)"] = cql_command() + ["-e", query]
        litecli = litecli_command()
        if litecli:
            commands["litecli -e"] = litecli + ["-e", query, lite]
        results = timed_all(commands, args.runs, env)
        profile = import_profile(["-e", query, db], env)

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
    for line in profile:
        print("  " + line)


if __name__ == "__main__":
    main()
