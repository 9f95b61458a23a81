"""cql copy at migration scale, each figure against a peer measured in the same run.

1. A LeanCloud-style export archive (.tar.gz of JSON Lines, default 1,000,000
   objects) into an embedded database file with ``cql copy`` (every line
   checked first, objectId-keyed upserts, field types checked) vs SQLite's
   ``executemany`` of the same rows (read from the same archive, json.loads'd)
   into a typed table with an objectId primary key and three indexes, one
   transaction. Target: cql >= 1/4 of SQLite's rate. Peak memory of each side
   (each runs in a child process of its own) is reported too.
2. Objects into the local Parse Server (default 100,000) with ``cql copy``
   (bounded parallel /batch upserts, createdAt/updatedAt kept through the
   maintenance key) vs one /batch of 50 creates at a time, waiting for each
   (the same objects and keys, into another class). Target: >= 3x.
3. (--new-ids N) N objects into a Parse Server that assigns its own objectIds
   (the test server's strict process) with ``--accept new-ids``, each pointing
   to the next object of its class (the worst case: every object is created,
   then updated with its pointer's new id), vs one /batch of 50 plain creates
   at a time (no objectId; nothing set afterwards).

    python bench/copy.py                            # parts 1 and 2; starts the test server itself
    python bench/copy.py --objects 200000 --rest-objects 20000
    python bench/copy.py --skip-rest                # part 1 only
    python bench/copy.py --skip-embedded --skip-rest --new-ids 20000    # part 3 only
"""
from __future__ import annotations

import os
import sys

# This file is named like the stdlib's copy module (which tarfile and argparse
# import): keep its folder off the import path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import io
import json
import random
import resource
import secrets
import sqlite3
import subprocess
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "rest"))

CLASS = "GameScore"


def make_object(i: int, rnd: random.Random) -> dict:
    """An object as LeanCloud's data export writes it."""
    created = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z"
    return {
        "objectId": f"{0x5f000000 + i // 16777216:08x}{i:016x}",
        "createdAt": created, "updatedAt": created,
        "ACL": {"*": {"read": True}, f"{i % 5000:024x}": {"read": True, "write": True}},
        "name": f"player{rnd.randrange(100000)}",
        "score": rnd.randrange(1_000_000),
        "tags": rnd.sample(["red", "green", "blue", "作家", "vip", "new"], rnd.randint(1, 3)),
        "location": {"__type": "GeoPoint", "latitude": round(rnd.uniform(-85, 85), 6),
                     "longitude": round(rnd.uniform(-180, 180), 6)},
        "player": {"__type": "Pointer", "className": "Player", "objectId": f"{rnd.randrange(50000):024x}"},
        "playedAt": {"__type": "Date", "iso": created},
        "active": bool(i % 3),
    }


def write_export(path: str, n: int, cls: str = CLASS) -> None:
    """A .tar.gz with cls.jsonl (streamed: the archive is never in memory)."""
    rnd = random.Random(7)
    raw = path + ".jsonl"
    with open(raw, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps(make_object(i, rnd), ensure_ascii=False, separators=(",", ":")) + "\n")
    if path.endswith(".jsonl"):
        os.replace(raw, path)
        return
    with tarfile.open(path, "w:gz", compresslevel=1) as t:
        t.add(raw, f"export/{cls}.jsonl")
    os.remove(raw)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- children: each side in a process of its own, for a clean peak RSS -------------
def child_sqlite(archive: str, db: str) -> dict:
    start = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.executescript(f"""
        CREATE TABLE {CLASS} (objectId TEXT PRIMARY KEY, createdAt TEXT, updatedAt TEXT, acl TEXT, name TEXT,
                              score INTEGER, tags TEXT, lat REAL, lng REAL, player TEXT, playedAt TEXT,
                              active INTEGER);
        CREATE INDEX gs_name ON {CLASS}(name);
        CREATE INDEX gs_score ON {CLASS}(score);
        CREATE INDEX gs_updated ON {CLASS}(updatedAt);
    """)
    n = 0
    con.execute("BEGIN")
    with tarfile.open(archive, "r:*") as t:
        for member in t:
            if not member.isfile():
                continue
            rows = []
            for line in io.TextIOWrapper(t.extractfile(member), encoding="utf-8"):
                o = json.loads(line)
                rows.append((o["objectId"], o["createdAt"], o["updatedAt"], json.dumps(o["ACL"]), o["name"],
                             o["score"], json.dumps(o["tags"], ensure_ascii=False), o["location"]["latitude"],
                             o["location"]["longitude"], o["player"]["objectId"], o["playedAt"]["iso"],
                             o["active"]))
                if len(rows) >= 50000:
                    con.executemany(f"INSERT INTO {CLASS} VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
                    n += len(rows)
                    rows = []
            con.executemany(f"INSERT INTO {CLASS} VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            n += len(rows)
    con.execute("COMMIT")
    con.close()
    return {"seconds": time.perf_counter() - start, "objects": n, "rss_mb": peak_rss_mb()}


def child_cql(archive: str, db: str) -> dict:
    import cql
    start = time.perf_counter()
    report = cql.copy(archive, db, verify=False)
    seconds = time.perf_counter() - start
    assert not report.failures, str(report)
    n = sum(c.written.inserted + c.written.replaced + c.written.unchanged for c in report.classes)
    rss = peak_rss_mb()
    start = time.perf_counter()
    check = cql.verify(archive, db)
    assert check.clean, str(check)
    return {"seconds": seconds, "objects": n, "rss_mb": rss, "verify_seconds": time.perf_counter() - start}


def run_child(kind: str, archive: str, db: str) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, archive, db],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_embedded(n: int, tmp: str) -> None:
    archive = os.path.join(tmp, "export.tar.gz")
    t0 = time.perf_counter()
    write_export(archive, n)
    print(f"archive: {n:,} objects, {os.path.getsize(archive) / 1e6:.0f} MB gzip'd "
          f"(written in {time.perf_counter() - t0:.0f} s)")
    lite = run_child("sqlite", archive, os.path.join(tmp, "peer.sqlite"))
    mine = run_child("cql", archive, os.path.join(tmp, "copy.db"))
    lr, cr = lite["objects"] / lite["seconds"], mine["objects"] / mine["seconds"]
    print(f"  sqlite executemany (typed table, pk + 3 indexes): {lite['seconds']:7.1f} s  {lr:9,.0f} obj/s  "
          f"peak RSS {lite['rss_mb']:,.0f} MB")
    print(f"  cql copy archive -> embedded file:                 {mine['seconds']:7.1f} s  {cr:9,.0f} obj/s  "
          f"peak RSS {mine['rss_mb']:,.0f} MB")
    print(f"  ratio cql/sqlite rate: {cr / lr:.2f}  (target >= 0.25)   "
          f"[cql verify of the copy: {mine['verify_seconds']:.1f} s]")
    print(f"  file sizes: sqlite {os.path.getsize(os.path.join(tmp, 'peer.sqlite')) / 1e6:,.0f} MB, "
          f"cql {os.path.getsize(os.path.join(tmp, 'copy.db')) / 1e6:,.0f} MB")


# -- Parse Server ---------------------------------------------------------------------------
def cpu_seconds(pids) -> float:
    """CPU time (user + system) used so far by these processes (from /proc)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids(pgdata: str) -> list:
    """The postmaster of the test server's cluster and its backends."""
    try:
        with open(os.path.join(pgdata, "postmaster.pid")) as f:
            master = int(f.readline())
    except (OSError, ValueError):
        return []
    out = [master]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                    out.append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    return out


def timed(work, node_pid, pgdata):
    """(wall seconds, CPU shares of node, PostgreSQL and this client) of work()."""
    def me():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    pg = postgres_pids(pgdata) if pgdata else []
    n0, p0, c0, t0 = cpu_seconds([node_pid]) if node_pid else 0, cpu_seconds(pg), me(), time.perf_counter()
    work()
    wall = time.perf_counter() - t0
    pg = postgres_pids(pgdata) if pgdata else []  # (backends that ended are not counted)
    node = (cpu_seconds([node_pid]) - n0) / wall if node_pid else float("nan")
    return wall, node, (cpu_seconds(pg) - p0) / wall if pg else float("nan"), (me() - c0) / wall


def one_batch_at_a_time(session, url: str, cls: str, objects: list) -> None:
    """The peer: creates in /batch requests of 50, one after the other."""
    prefix = "/" + url.split("://", 1)[1].split("/", 1)[1] if "/" in url.split("://", 1)[1] else ""
    for i in range(0, len(objects), 50):
        body = {"requests": [{"method": "POST", "path": f"{prefix}/classes/{cls}", "body": o}
                             for o in objects[i:i + 50]]}
        r = session.post(f"{url}/batch", data=json.dumps(body), timeout=120)
        r.raise_for_status()
        assert all("success" in item for item in r.json()), r.text[:300]


def bench_rest(n: int, tmp: str, url: str, app_id: str, master: str, maintenance: str, workers: int,
               node_pid: int = 0, pgdata: str = "") -> None:
    import cql
    import requests
    tag = secrets.token_hex(3)
    cls_copy, cls_peer = f"CopyBench{tag}", f"BatchBench{tag}"
    source = os.path.join(tmp, f"{cls_copy}.jsonl")
    write_export(source, n, cls_copy)
    session = requests.Session()
    session.headers.update({"X-Parse-Application-Id": app_id, "X-Parse-Master-Key": master,
                            "X-Parse-Maintenance-Key": maintenance, "Content-Type": "application/json"})
    with open(source, encoding="utf-8") as f:
        objects = [json.loads(line) for line in f]
    for o in objects:  # the same bodies the copy sends: times as Dates (the maintenance key keeps them)
        o["createdAt"] = {"__type": "Date", "iso": o["createdAt"]}
        o["updatedAt"] = {"__type": "Date", "iso": o["updatedAt"]}
    peer, peer_node, peer_pg, peer_client = timed(lambda: one_batch_at_a_time(session, url, cls_peer, objects),
                                                  node_pid, pgdata)
    objects.clear()
    keys = {"app_id": app_id, "master_key": master, "maintenance_key": maintenance}
    reports = []
    mine, mine_node, mine_pg, mine_client = timed(
        lambda: reports.append(cql.copy(source, url, target_options=keys, verify=False, workers=workers)),
        node_pid, pgdata)
    report = reports[0]
    assert not report.failures, str(report)
    start = time.perf_counter()
    check = cql.verify(source, url, target_options=keys)
    verify_s = time.perf_counter() - start
    assert check.clean, str(check)
    start = time.perf_counter()
    again = cql.copy(source, url, target_options=keys, verify=False, workers=workers)
    rerun = time.perf_counter() - start
    assert sum(c.written.unchanged for c in again.classes) == n
    print(f"Parse Server: {n:,} objects (CPU used, as a share of one core: node = the Parse Server process, "
          f"pg = its PostgreSQL, client = this process)")
    print(f"  one /batch of 50 at a time:          {peer:7.1f} s  {n / peer:7,.0f} obj/s   "
          f"node {peer_node:4.0%}  pg {peer_pg:4.0%}  client {peer_client:4.0%}")
    print(f"  cql copy ({workers} /batch in flight, upserts): {mine:7.1f} s  {n / mine:7,.0f} obj/s   "
          f"node {mine_node:4.0%}  pg {mine_pg:4.0%}  client {mine_client:4.0%}")
    print(f"  ratio: {peer / mine:.2f}x  (target >= 3x)   [verify {verify_s:.1f} s; "
          f"second run, nothing to write: {rerun:.1f} s]")


def bench_new_ids(n: int, tmp: str, url: str, app_id: str, master: str, workers: int) -> None:
    import cql
    import requests
    tag = secrets.token_hex(3)
    cls_copy, cls_peer = f"NewIdBench{tag}", f"NewIdPeer{tag}"
    source = os.path.join(tmp, f"{cls_copy}.jsonl")
    write_export(source, n, cls_copy)
    with open(source, encoding="utf-8") as f:
        objects = [json.loads(line) for line in f]
    # each points to the next object of its class, not created yet: the second pass sets every pointer
    for i, o in enumerate(objects):
        o["player"] = {"__type": "Pointer", "className": cls_copy, "objectId": objects[(i + 1) % n]["objectId"]}
    with open(source, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)
    objects = [{k: v for k, v in o.items() if k not in ("objectId", "createdAt", "updatedAt")} for o in objects]
    session = requests.Session()
    session.headers.update({"X-Parse-Application-Id": app_id, "X-Parse-Master-Key": master,
                            "Content-Type": "application/json"})
    start = time.perf_counter()
    one_batch_at_a_time(session, url, cls_peer, objects)
    peer = time.perf_counter() - start
    objects.clear()
    keys = {"app_id": app_id, "master_key": master}
    accept = ["timestamps", "new-ids"]
    start = time.perf_counter()
    report = cql.copy(source, url, target_options=keys, accept=accept, verify=False, workers=workers)
    mine = time.perf_counter() - start
    assert not report.failures, str(report)
    start = time.perf_counter()
    check = cql.verify(source, url, target_options=keys, accept=accept)
    verify_s = time.perf_counter() - start
    assert check.clean, str(check)
    start = time.perf_counter()
    again = cql.copy(source, url, target_options=keys, accept=accept, verify=False, workers=workers)
    rerun = time.perf_counter() - start
    assert sum(c.written.unchanged for c in again.classes) == n, str(again)
    print(f"Parse Server assigning objectIds: {n:,} objects, each pointing to the next one (the worst case: "
          "every pointer is set by an update in the second pass)")
    print(f"  one /batch of 50 plain creates at a time:       {peer:7.1f} s  {n / peer:7,.0f} obj/s")
    print(f"  cql copy --accept new-ids ({workers} in flight, 2 passes): {mine:7.1f} s  {n / mine:7,.0f} obj/s")
    print(f"  ratio: {peer / mine:.2f}x   [verify through cqlSourceId {verify_s:.1f} s; "
          f"second run, nothing to write: {rerun:.1f} s]")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objects", type=int, default=1_000_000, help="objects for part 1 (default 1,000,000)")
    p.add_argument("--rest-objects", type=int, default=100_000, help="objects for part 2 (default 100,000)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--skip-embedded", action="store_true")
    p.add_argument("--skip-rest", action="store_true")
    p.add_argument("--new-ids", type=int, default=0, metavar="N",
                   help="part 3 with N objects (test server only; default: not run)")
    p.add_argument("--url", help="a Parse Server (default: start the test server)")
    p.add_argument("--app-id")
    p.add_argument("--master-key")
    p.add_argument("--maintenance-key")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, archive, db = args.child
        print(json.dumps((child_sqlite if kind == "sqlite" else child_cql)(archive, db)))
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="cql-bench-copy-") as tmp:
        if not args.skip_embedded:
            bench_embedded(args.objects, tmp)
        if not args.skip_rest:
            if args.url:
                bench_rest(args.rest_objects, tmp, args.url, args.app_id, args.master_key, args.maintenance_key,
                           args.workers)
            else:
                from testserver import APP_ID, MAINTENANCE_KEY, MASTER_KEY, TestServer
                with TestServer() as server:
                    bench_rest(args.rest_objects, tmp, server.parse_url, APP_ID, MASTER_KEY, MAINTENANCE_KEY,
                               args.workers, server.node.pid, str(server.dir / "pgdata"))
        if args.new_ids:
            from testserver import MASTER_KEY, STRICT_APP_ID, TestServer
            with TestServer() as server:
                bench_new_ids(args.new_ids, tmp, server.start_strict(), STRICT_APP_ID, MASTER_KEY, args.workers)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
