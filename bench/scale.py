"""The embedded engine at real-data scale, against Python's sqlite3 on an SQLite
file holding the same rows in a typed table with the same indexes.

    python bench/scale.py                     # 10k and 100k objects
    python bench/scale.py --sizes 10000,100000,1000000   # 1M takes about 20 minutes
    python bench/scale.py --skip-ingest       # build the files by executemany only

A GameScore-like class (name, score, tags array, level, cheat), as a user
builds it. One run:

- ingest, per size: ``.import`` of a JSONL file (``cql -e ".import ..."``, a
  fresh process), DB-API ``executemany``, and 1000-row ``INSERT ... VALUES``
  texts (``Connection.execute``, each its own transaction as cql runs
  statements, then all in one ``Connection.transaction()``), each into a new
  file with the indexes (name, score) created first; the peer is sqlite3's
  ``executemany`` of the same rows into the indexed typed table in one
  transaction (also shown committing every 1000 rows, what statements of
  1000 rows cost SQLite itself). Targets: each <= 3x.
- cold queries, each a fresh process, in rounds over every size (so the
  machine's load falls on all alike), medians and the child's peak RSS:
  ``cql -e`` equality with LIMIT 10 on an indexed field, a count with an
  indexed condition, ORDER BY + LIMIT 10; the peer a fresh ``python -c``
  doing the same with sqlite3; and the engine's own part (connect + the
  statement, timed inside a process after its imports). Targets: time at the
  largest size <= 1.5x time at the smallest, <= 3x the peer; RSS at 1M <= 100 MB.
- an unindexed scan with a condition (``count(*) where level > 50``, about
  half the objects match) in a fresh process with ``auto_index=False``,
  against SQLite's ``json_extract`` scan of the JSON column of the same cql
  file, timed inside each process. Target <= 3x.

The machine's load average is printed with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TAGS = [f"tag{i}" for i in range(50)]
FIELDS = ("name", "score", "tags", "level", "cheat")
INDEXED = ("name", "score")
INSERT_ROWS = 1000


def make_rows(n: int, seed: int = 1) -> List[tuple]:
    rnd = random.Random(seed)
    names = max(n // 10, 1)
    return [(f"player{rnd.randrange(names)}", rnd.randrange(1_000_000), rnd.sample(TAGS, rnd.randint(1, 3)),
             rnd.randrange(100), rnd.random() < 0.01) for _ in range(n)]


_PYCACHE = tempfile.mkdtemp(prefix="cql-scale-pycache-")
TIME = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)


def env() -> dict:
    """Children import byte-code as an installed program has it (compiled once,
    into a cache of this run's own), whatever PYTHONDONTWRITEBYTECODE says."""
    out = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONPYCACHEPREFIX=_PYCACHE)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def run_measured(argv: Sequence[str]) -> Tuple[float, int, str]:
    """(seconds, peak RSS in bytes, stdout) of a fresh process. The RSS comes
    from /usr/bin/time, whose own small process starts the child (a child
    forked from this big process would inherit its size in ru_maxrss)."""
    report = tempfile.mktemp(prefix="cql-scale-time-")
    cmd = [TIME, "-f", "%M", "-o", report, *argv] if TIME else list(argv)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env())
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{list(argv)[:4]} failed: {proc.stderr.decode()[-2000:]}")
    rss = 0
    if TIME:
        with open(report) as f:
            rss = int(f.read().split()[-1]) * 1024
        os.remove(report)
    return elapsed, rss, proc.stdout.decode()


def fmt(t: float) -> str:
    return f"{t * 1e3:8.1f} ms" if t < 1 else f"{t:8.2f} s "


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- the peer -----------------------------------------------------------------------------
PEER_SCHEMA = """
CREATE TABLE GameScore (objectId TEXT PRIMARY KEY, name TEXT, score INTEGER, tags TEXT, level INTEGER,
                        cheat INTEGER, createdAt TEXT, updatedAt TEXT);
CREATE INDEX gs_name ON GameScore(name);
CREATE INDEX gs_score ON GameScore(score);
"""


def peer_ingest(path: str, rows: List[tuple], every: Optional[int] = None) -> float:
    """sqlite3's executemany of the rows into the indexed typed table, in one
    transaction, or committing every ``every`` rows (as statements of that size do)."""
    fresh(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(PEER_SCHEMA)
    now = "2026-01-01T00:00:00.000Z"
    data = [(os.urandom(12).hex(), r[0], r[1], json.dumps(r[2]), r[3], int(r[4]), now, now) for r in rows]
    step = every or len(data)
    t = time.perf_counter()  # the rows ready as typed tuples: executemany alone is timed
    for i in range(0, len(data), step):
        db.execute("BEGIN")
        db.executemany("INSERT INTO GameScore VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data[i:i + step])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t
    db.close()
    return elapsed


PEER_QUERY = """
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
cur = db.execute(sys.argv[2], json.loads(sys.argv[3]))
cols = [d[0] for d in cur.description]
rows = cur.fetchall()
for r in rows:
    print(dict(zip(cols, r)))
"""


# -- the engine ---------------------------------------------------------------------------
def fresh(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def cql_file_with_indexes(path: str) -> None:
    import cql
    fresh(path)
    con = cql.connect(path)
    for field in INDEXED:
        con.backend.create_index("GameScore", field)
    con.close()


def ingest_import(path: str, rows: List[tuple], folder: str) -> float:
    jsonl = os.path.join(folder, "rows.jsonl")
    with open(jsonl, "w") as f:
        for r in rows:
            f.write(json.dumps(dict(zip(FIELDS, r))) + "\n")
    cql_file_with_indexes(path)
    t, _rss, _out = run_measured([sys.executable, "-m", "cql", "-e", f".import {jsonl} GameScore", path])
    return t


def ingest_executemany(path: str, rows: List[tuple]) -> float:
    import cql
    cql_file_with_indexes(path)
    con = cql.connect(path)
    t = time.perf_counter()
    con.cursor().executemany(f"insert into GameScore ({', '.join(FIELDS)}) values (?, ?, ?, ?, ?)", rows)
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


def cql_literal(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, list):
        return "[" + ", ".join(cql_literal(x) for x in v) + "]"
    return repr(v)


def ingest_texts(path: str, rows: List[tuple], one_transaction: bool = False) -> Tuple[float, float]:
    """(seconds, parse seconds) of 1000-row INSERT texts through Connection.execute:
    each its own transaction (as cql runs statements), or all in one
    (``Connection.transaction()``, as the peer's executemany is)."""
    import contextlib
    import cql
    from cql.parser import parse
    head = f"insert into GameScore ({', '.join(FIELDS)}) values "
    texts = [head + ", ".join("(" + ", ".join(cql_literal(v) for v in r) + ")" for r in rows[i:i + INSERT_ROWS])
             for i in range(0, len(rows), INSERT_ROWS)]
    t = time.perf_counter()
    for text in texts[:20]:
        parse(text + " ")  # parse time alone, on texts not seen before
    parse_per_text = (time.perf_counter() - t) / min(len(texts), 20)
    cql_file_with_indexes(path)
    con = cql.connect(path)
    t = time.perf_counter()
    with con.transaction() if one_transaction else contextlib.nullcontext():
        for text in texts:
            con.execute(text)
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed, parse_per_text * len(texts)


# -- cold queries -----------------------------------------------------------------------------
def queries_for(n: int) -> Dict[str, Tuple[str, str, list]]:
    rnd = random.Random(n)
    name = f"player{rnd.randrange(max(n // 10, 1))}"
    lo = rnd.randrange(990_000)
    return {
        "eq limit 10": (f"select * from GameScore where name = '{name}' limit 10",
                        "SELECT * FROM GameScore WHERE name = ? LIMIT 10", [name]),
        "indexed count": (f"select count(*) from GameScore where score >= {lo} and score < {lo + 10_000}",
                          "SELECT count(*) FROM GameScore WHERE score >= ? AND score < ?", [lo, lo + 10_000]),
        "order+limit 10": ("select * from GameScore order by -score limit 10",
                           "SELECT * FROM GameScore ORDER BY score DESC LIMIT 10", []),
    }


# The engine's own part of a cold query: connect + the statement, after imports.
IN_PROCESS = """
import sys, time, cql, cql.engine.executor
from cql.parser import parse
parse("select * from T")
t = time.perf_counter()
con = cql.connect(sys.argv[1])
r = con.execute(sys.argv[2])
print(time.perf_counter() - t)
"""


def cold_queries(files: Dict[int, Tuple[str, str]], repeat: int) -> Dict[int, Dict[str, dict]]:
    """Each query in a fresh process, in rounds over every size and query (so
    the machine's load falls on all alike); medians, peak RSS."""
    runs: Dict[Tuple[int, str, str], list] = {}
    for n, (cql_path, _peer) in files.items():  # byte-code, and the files in the OS cache
        run_measured([sys.executable, "-m", "cql", "-e", "select count(*) from GameScore", cql_path])
    for _round in range(repeat):
        for n, (cql_path, peer_path) in files.items():
            for label, (cql_text, sql, params) in queries_for(n).items():
                runs.setdefault((n, label, "engine"), []).append(run_measured(
                    [sys.executable, "-m", "cql", "--format", "jsonl", "-e", cql_text, cql_path]))
                runs.setdefault((n, label, "peer"), []).append(run_measured(
                    [sys.executable, "-c", PEER_QUERY, peer_path, sql, json.dumps(params)]))
                runs.setdefault((n, label, "inside"), []).append(run_measured(
                    [sys.executable, "-c", IN_PROCESS, cql_path, cql_text]))
    out: Dict[int, Dict[str, dict]] = {}
    for (n, label, side), results in runs.items():
        entry = out.setdefault(n, {}).setdefault(label, {})
        if side == "inside":
            entry["inside"] = statistics.median(float(r[2]) for r in results)
            continue
        entry[side] = statistics.median(r[0] for r in results)
        entry[f"{side}_rss"] = max(r[1] for r in results)
        entry[f"{side}_rows"] = len(results[0][2].strip().splitlines())
    return out


SCAN = """
import sys, time, cql
con = cql.connect(sys.argv[1], auto_index=False)
t = time.perf_counter()
r = con.execute("select count(*) from GameScore where level > 50")
print(r.count, time.perf_counter() - t)
"""
SCAN_PEER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
t = time.perf_counter()
n = db.execute("SELECT count(*) FROM objects WHERE class = 'GameScore' AND json_extract(json, '$.level') > 50").fetchone()[0]
print(n, time.perf_counter() - t)
"""


def scan(cql_path: str) -> dict:
    e_t, e_rss, e_out = run_measured([sys.executable, "-c", SCAN, cql_path])
    p_t, p_rss, p_out = run_measured([sys.executable, "-c", SCAN_PEER, cql_path])
    (e_n, e_in), (p_n, p_in) = e_out.split(), p_out.split()
    return {"engine": float(e_in), "peer": float(p_in), "same": e_n == p_n, "rss": e_rss, "count": int(e_n),
            "engine_process": e_t, "peer_process": p_t}


# -- main ---------------------------------------------------------------------------------
def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=5, help="rounds of cold queries (medians)")
    ap.add_argument("--skip-ingest", action="store_true", help="build the files by executemany only")
    ap.add_argument("--keep", help="folder to keep the files in (default: a temporary one)")
    args = ap.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    folder = args.keep or tempfile.mkdtemp(prefix="cql-scale-")
    os.makedirs(folder, exist_ok=True)
    print(f"sqlite {sqlite3.sqlite_version}, python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load {load()}")
    files: Dict[int, Tuple[str, str]] = {}
    try:
        for n in sizes:
            print(f"\n== {n:,} GameScore objects: ingest ==")
            rows = make_rows(n)
            peer_path = os.path.join(folder, f"peer-{n}.db")
            peer_t = peer_ingest(peer_path, rows)
            print(f"sqlite3 executemany, typed table + {len(INDEXED)} indexes: {fmt(peer_t)}")
            cql_path = os.path.join(folder, f"cql-{n}.db")
            em = ingest_executemany(cql_path, rows)
            print(f"executemany                              {fmt(em)}  {em / peer_t:5.2f}x   (load {load()})")
            if not args.skip_ingest:
                other = os.path.join(folder, f"cql-{n}-b.db")
                imp = ingest_import(other, rows, folder)
                print(f".import JSONL (cql -e, a process)         {fmt(imp)}  {imp / peer_t:5.2f}x   (load {load()})")
                txt, parse_t = ingest_texts(other, rows)
                print(f"{INSERT_ROWS}-row INSERT texts                      {fmt(txt)}  {txt / peer_t:5.2f}x"
                      f"   (parsing {fmt(parse_t)} of it; load {load()})")
                txt1, _p = ingest_texts(other, rows, one_transaction=True)
                print(f"the same in one transaction              {fmt(txt1)}  {txt1 / peer_t:5.2f}x"
                      f"   (Connection.transaction(); load {load()})")
                p1000 = peer_ingest(os.path.join(folder, f"peer1000-{n}.db"), rows, every=INSERT_ROWS)
                fresh(os.path.join(folder, f"peer1000-{n}.db"))
                print(f"  (sqlite3 itself committing every {INSERT_ROWS} rows: {fmt(p1000)}, {p1000 / peer_t:5.2f}x its"
                      f" one transaction; the texts are {txt / p1000:5.2f}x that)")
                fresh(other)
            print(f"files: cql {os.path.getsize(cql_path) / 2**20:,.0f} MiB, "
                  f"sqlite {os.path.getsize(peer_path) / 2**20:,.0f} MiB")
            files[n] = (cql_path, peer_path)
        print(f"\n== cold queries: a fresh process each, {args.repeat} rounds over every size; load {load()} ==")
        cold = cold_queries(files, args.repeat)
        for n in sizes:
            for label, r in cold[n].items():
                print(f"{n:>9,} {label:<16} cql -e {fmt(r['engine'])} (RSS {r['engine_rss'] / 2**20:5.1f} MiB;"
                      f" open + query in the process {r['inside'] * 1e3:6.1f} ms)   python -c sqlite3"
                      f" {fmt(r['peer'])} (RSS {r['peer_rss'] / 2**20:5.1f} MiB)   {r['engine'] / r['peer']:5.2f}x"
                      f"   rows {r['engine_rows']}/{r['peer_rows']}")
        if len(sizes) >= 2:
            small, big = min(sizes), max(sizes)
            print(f"cold scaling {small:,} -> {big:,} (target <= 1.5x); load {load()}:")
            for label in cold[small]:
                a, b = cold[small][label], cold[big][label]
                print(f"  {label:<16} {fmt(a['engine'])} -> {fmt(b['engine'])}  {b['engine'] / a['engine']:5.2f}x"
                      f"   (in the process {a['inside'] * 1e3:.1f} -> {b['inside'] * 1e3:.1f} ms)")
        print("\n== unindexed scan: count(*) where level > 50 (about half match), auto_index=False ==")
        for n in sizes:
            sc = scan(files[n][0])
            print(f"{n:>9,} engine {fmt(sc['engine'])} vs json_extract {fmt(sc['peer'])}  "
                  f"{sc['engine'] / sc['peer']:5.2f}x   counts {'agree' if sc['same'] else 'DIFFER'} "
                  f"({sc['count']:,}); process RSS {sc['rss'] / 2**20:.1f} MiB; load {load()}")
    finally:
        shutil.rmtree(_PYCACHE, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
