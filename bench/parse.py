"""Benchmark: cql parse+plan (uncached and cached) against sqlglot.parse_one, one process.

Run:  python bench/parse.py [--quick]
Prints per-statement times and ratios to sqlglot, and their geometric means.
Targets: uncached cql <= 0.5x sqlglot; cached (repeated text) <= 0.05x.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Callable, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlglot  # noqa: E402  (bench-only dependency)

from cql import parser  # noqa: E402
from cql.planner import plan  # noqa: E402

CORPUS = [
    "select * from Todo",
    "select * from Todo where status = 1",
    "select count(*) from Todo where priority = 0",
    "select * from Todo where status = ? and priority = ?",
    "select title, content from Todo where priority >= 2 order by -priority limit 10",
    "select * from GameScore where score > 80 and score <= 100 order by score desc limit 10, 20",
    "select * from Todo where title like '%李总%'",
    "select * from GameScore where playerName in ('Sean Plott', 'Dan Stemkoski', 'Ann') or cheatMode = true",
    "select * from GameScore where playerName not in ('a', 'b') and score != 0 and score <> 7",
    "select * from Post where author in (select objectId from _User where age >= 18 limit 100)",
    "select * from Post where pubTime > date('2015-06-21T18:02:52.249Z') and pubTime < date('2016-01-01T00:00:00.000Z')",
    "select * from Comment where post = pointer('Post', '57328ca079bc44005c2472d0')",
    "select * from C where (a = 1 or b = 2) and (c = 3 or d = 4) and e > 5",
    "select * from C where a = 1 and b = 'two' and c = 3.5 and d = true and e = null and f = 'x' and g < 10",
    "select a, b, c, d, e, f from C where x = 'y' order by a, b, c limit 50",
    "select * from Todo where `order` = 1 and `limit` = 2",
    "select * from C where name regexp '^[a-z]+$' and email like '%@example.com'",
    "select * from C where (((a = 1 or b = 2) and c = 3) or (d = 4 and (e = 5 or f = 6)))",
    "insert into TodoFolder(name, priority) values ('工作', 78)",
    "insert into Todo(title, content, priority, done) values ('a', 'b', 1, false), ('c', 'd', 2, true), ('e', 'f', 3, false)",
    "update TodoFolder set name = '家庭' where objectId = '57318f14df0eea006331a19a'",
    "update Todo set priority = 5, done = true, title = 'x' where priority < 2 and done = false",
    "update Todo set views = op('Increment', {'amount': 1}) where objectId = ?",
    "delete from Todo where objectId = '5731a29d71cfe4006cbdbc22'",
    "delete from Todo where done = true and priority < 3",
]

# CQL-only syntax (sqlglot cannot parse it): timed for cql alone.
CQL_ONLY = [
    "select * from Shop where location near [116.4, 39.9] max 2.0 km limit 10",
    "select * from Shop where location within [116.0, 39.0] and [117.0, 40.0]",
    "select count(*), * from Post where tags all ('a', 'b') and size(tags) = 2 and img is exists",
    "select include author, title from Post where related likes to pointer('_User', 'u1')",
]


def best_time(fn: Callable[[], object], budget: float) -> float:
    """Seconds per call: the best of 5 rounds, each sized to ~budget/5."""
    n, start = 1, time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    n = max(1, int(budget / 5 / once))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def cql_uncached(text: str) -> Callable[[], object]:
    def run() -> object:
        parser.clear_cache()
        [stmt] = parser.parse(text)
        return plan(stmt, ["x"] * stmt.param_count)
    return run


def cql_cached(text: str) -> Callable[[], object]:
    def run() -> object:
        [stmt] = parser.parse(text)
        return plan(stmt, ["x"] * stmt.param_count)
    return run


def geomean(values: List[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main(argv: List[str]) -> int:
    budget = 0.05 if "--quick" in argv else 0.25
    parser.parse("select * from Warmup")  # build the parser outside the timings
    un_ratios, ca_ratios = [], []
    print(f"{'statement':<62} {'uncached':>9} {'cached':>8} {'sqlglot':>9} {'unc/sg':>7} {'cach/sg':>8}")
    for text in CORPUS:
        un = best_time(cql_uncached(text), budget)
        ca = best_time(cql_cached(text), budget)
        sg = best_time(lambda: sqlglot.parse_one(text, read="mysql"), budget)
        un_ratios.append(un / sg)
        ca_ratios.append(ca / sg)
        label = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label:<62} {un * 1e6:8.1f}u {ca * 1e6:7.2f}u {sg * 1e6:8.1f}u {un / sg:7.3f} {ca / sg:8.4f}")
    for text in CQL_ONLY:
        un = best_time(cql_uncached(text), budget)
        ca = best_time(cql_cached(text), budget)
        label = text if len(text) <= 60 else text[:57] + "..."
        print(f"{label:<62} {un * 1e6:8.1f}u {ca * 1e6:7.2f}u {'(cql only)':>9}")
    g_un, g_ca = geomean(un_ratios), geomean(ca_ratios)
    print(f"\ngeometric mean over {len(CORPUS)} statements: uncached/sqlglot = {g_un:.3f} (target <= 0.5), "
          f"cached/sqlglot = {g_ca:.4f} (target <= 0.05)")
    print(f"sqlglot {sqlglot.__version__}, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
