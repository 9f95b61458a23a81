"""REST backend overhead against a real Parse Server (PostgreSQL).

1. 1,000 selects through ``cql`` (text -> parse cache -> plan -> dialect ->
   requests -> Result) vs the same GETs hand-built on a bare
   ``requests.Session`` (JSON decoded, nothing else). Target: ratio <= 1.15.
2. Inserting 10,000 rows: one multi-row INSERT (``/batch``, 50 per request)
   vs one INSERT (one POST) per row: round trips and wall time.

    python bench/rest.py                     # starts the test server itself
    python bench/rest.py --rows 2000         # a smaller insert run
    python bench/rest.py --url http://127.0.0.1:1337/parse --app-id A --master-key M

The two select loops alternate in blocks so that server noise hits both alike;
the figure per side is the median block time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "rest"))

import cql  # noqa: E402

CLASS = "BenchItem"
STATEMENT = f"select * from {CLASS} where qty > ? and active = ? limit 10"


def seed(conn, n: int = 2000) -> None:
    conn.execute(f"delete from {CLASS}")
    values = ", ".join(f"({i}, 'item {i}', {i % 100}, {'true' if i % 3 else 'false'}, ['t{i % 7}'])"
                       for i in range(n))
    conn.execute(f"insert into {CLASS} (k, name, qty, active, tags) values {values}")


def bench_selects(conn, url: str, headers: dict, total: int, block: int) -> None:
    session = requests.Session()
    session.headers.update(headers)
    params = [(i % 90, bool(i % 2)) for i in range(total)]

    def via_cql(chunk):
        for qty, active in chunk:
            result = conn.execute(STATEMENT, qty, active)
            assert len(result.objects) == 10

    def via_requests(chunk):
        for qty, active in chunk:
            where = json.dumps({"qty": {"$gt": qty}, "active": active}, separators=(",", ":"))
            resp = session.get(f"{url}/classes/{CLASS}", params={"where": where, "limit": 10}, timeout=30)
            resp.raise_for_status()
            assert len(resp.json()["results"]) == 10

    via_cql(params[:50])  # warm-up: statement cache, schema, keep-alive connections
    via_requests(params[:50])
    cql_times, raw_times = [], []
    for start in range(0, total, block):
        chunk = params[start:start + block]
        t0 = time.perf_counter()
        via_cql(chunk)
        t1 = time.perf_counter()
        via_requests(chunk)
        t2 = time.perf_counter()
        cql_times.append((t1 - t0) / len(chunk))
        raw_times.append((t2 - t1) / len(chunk))
    c, r = statistics.median(cql_times), statistics.median(raw_times)
    print(f"selects ({total}, blocks of {block}): {STATEMENT!r}")
    print(f"  cql          {c * 1e3:7.3f} ms/select   total {sum(cql_times) * block:6.2f} s")
    print(f"  bare requests{r * 1e3:7.3f} ms/select   total {sum(raw_times) * block:6.2f} s")
    print(f"  ratio cql / bare requests: {c / r:.3f}x (target <= 1.15x)")


def bench_inserts(conn, rows: int) -> None:
    http = conn.backend.http
    conn.execute(f"delete from {CLASS}Ins")
    values = ", ".join(f"({i}, 'row {i}')" for i in range(rows))
    before, t0 = http.calls, time.perf_counter()
    result = conn.execute(f"insert into {CLASS}Ins (k, name) values {values}")
    multi_time, multi_calls = time.perf_counter() - t0, http.calls - before
    assert result.rowcount == rows
    conn.execute(f"delete from {CLASS}Ins")
    before, t0 = http.calls, time.perf_counter()
    for i in range(rows):
        conn.execute(f"insert into {CLASS}Ins (k, name) values (?, ?)", i, f"row {i}")
    single_time, single_calls = time.perf_counter() - t0, http.calls - before
    print(f"insert {rows} rows:")
    print(f"  one multi-row INSERT (/batch): {multi_calls:6d} round trips {multi_time:7.2f} s "
          f"({rows / multi_time:8.0f} rows/s)")
    print(f"  one INSERT per row (POST):     {single_calls:6d} round trips {single_time:7.2f} s "
          f"({rows / single_time:8.0f} rows/s)")
    print(f"  speed-up of the multi-row insert: {single_time / multi_time:.1f}x, "
          f"{single_calls / max(multi_calls, 1):.0f}x fewer round trips")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="an existing Parse Server (default: start the test server)")
    ap.add_argument("--app-id")
    ap.add_argument("--master-key")
    ap.add_argument("--selects", type=int, default=1000)
    ap.add_argument("--block", type=int, default=50)
    ap.add_argument("--rows", type=int, default=10_000)
    args = ap.parse_args(argv)
    server = None
    if args.url:
        url, app_id, key = args.url.rstrip("/"), args.app_id, args.master_key
    else:
        from testserver import APP_ID, MASTER_KEY, TestServer
        print("starting the test server (PostgreSQL + Parse Server) ...", flush=True)
        server = TestServer().start()
        url, app_id, key = server.parse_url, APP_ID, MASTER_KEY
    try:
        conn = cql.connect(url, app_id=app_id, master_key=key)
        print(conn.description)
        seed(conn)
        bench_selects(conn, url, {"X-Parse-Application-Id": app_id, "X-Parse-Master-Key": key},
                      args.selects, args.block)
        bench_inserts(conn, args.rows)
        conn.close()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
