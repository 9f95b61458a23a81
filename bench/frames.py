"""DataFrame benchmark: ``Result.to_pandas()`` against ``pandas.DataFrame(result.results)``
on the same select, measured in the same process.

    python bench/frames.py [--rows 100000] [--runs 5]

Rows are a Todo-like class (strings, ints, floats, booleans, a Date, a Pointer,
a GeoPoint, an array, createdAt/updatedAt). Each run starts from a fresh
Result (``results`` decodes lazily and caches), so both contestants pay for
turning REST JSON into Python values: the peer through ``result.results``
(one Python datetime/Pointer/GeoPoint per value), to_pandas column by column.
Also printed: the peer with ``results`` already decoded (DataFrame
construction alone), and the peak memory (tracemalloc) of each.
Target: to_pandas() <= 2 x pandas.DataFrame(result.results).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pandas  # noqa: E402

import cql  # noqa: E402
from cql.plan import Create, Find  # noqa: E402
from cql.result import Result  # noqa: E402


def load(conn: cql.Connection, rows: int) -> None:
    batch = []
    for i in range(rows):
        batch.append({
            "title": f"todo {i}", "priority": i % 5, "score": i * 0.5, "done": i % 3 == 0,
            "due": {"__type": "Date", "iso": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T08:30:00.000Z"},
            "owner": {"__type": "Pointer", "className": "_User", "objectId": f"{i % 1000:024x}"},
            "where": {"__type": "GeoPoint", "latitude": (i % 180) - 90.0, "longitude": (i % 360) - 180.0},
            "tags": ["a", "b"] if i % 2 else [],
        })
        if len(batch) == 10000:
            conn.run(Create("Todo", tuple(batch)))
            batch = []
    if batch:
        conn.run(Create("Todo", tuple(batch)))


def fresh(objects: list) -> Result:
    return Result("select", "Todo", objects)


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak(fn) -> int:
    tracemalloc.start()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    conn = cql.connect()
    load(conn, args.rows)
    objects = conn.run(Find("Todo", limit=args.rows)).objects
    assert len(objects) == args.rows
    decoded = fresh(objects)
    decoded.results  # noqa: B018 - decode once for the "construction only" peer

    ours = timed(lambda: fresh(objects).to_pandas(), args.runs)
    peer = timed(lambda: pandas.DataFrame(fresh(objects).results), args.runs)
    peer_built = timed(lambda: pandas.DataFrame(decoded.results), args.runs)
    ours_mem = peak(lambda: fresh(objects).to_pandas())
    peer_mem = peak(lambda: pandas.DataFrame(fresh(objects).results))

    df = fresh(objects).to_pandas()
    print(f"rows: {args.rows}, columns: {len(df.columns)}, pandas {pandas.__version__}, median of {args.runs}")
    print(f"to_pandas()                          {ours * 1000:8.1f} ms   peak {ours_mem / 2**20:7.1f} MiB")
    print(f"DataFrame(result.results)            {peer * 1000:8.1f} ms   peak {peer_mem / 2**20:7.1f} MiB")
    print(f"DataFrame(results), already decoded  {peer_built * 1000:8.1f} ms")
    print(f"ratio to_pandas / DataFrame(result.results): {ours / peer:.2f} (target <= 2)")
    print(f"ratio to_pandas / DataFrame(decoded results): {ours / peer_built:.2f}")
    print(f"memory ratio: {ours_mem / peer_mem:.2f}")


if __name__ == "__main__":
    main()
