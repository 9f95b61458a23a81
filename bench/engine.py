"""Embedded engine on a file vs SQLite on a file (typed tables with indexes) vs
TinyDB (in-memory storage), same process, same data, same answers; warm (each
query after a warm-up run).

    python bench/engine.py                    # 100k and 1M objects
    python bench/engine.py --sizes 100000     # pick sizes
    python bench/engine.py --tinydb-max 1000000   # TinyDB at 1M too (slow)
    python bench/engine.py --transient        # both in memory (cql.connect(), sqlite ":memory:")

A GameScore-like class: name, score, tags (array), createdAt, location
(GeoPoint), player (Pointer to Player). The engine runs CQL text through
``Connection.execute`` (statement cache: each text is parsed once) on an
embedded database file (its indexes built on first use, in the file); SQLite
has the same rows in typed tables with indexes in a file of its own (WAL,
synchronous=NORMAL, like the engine). SQLite and TinyDB answers are turned
into the same REST-JSON-shaped dicts the engine returns, so every side does
the work a caller needs. Each query runs with rotating parameters after one
warm-up; the figure is the median time per call. Prints per-query ratios and
the geometric mean (target <= 1.5), and the engine's resident memory.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cql  # noqa: E402
from cql.plan import Create  # noqa: E402

N_PLAYERS = 1000
N_TAGS = 50
BULK = 10_000


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- data -------------------------------------------------------------------------
def make_rows(n: int, rnd: random.Random, player_ids: List[str], start: int = 0) -> List[dict]:
    names = max(n // 10, 1)  # every name is shared by ~10 objects at any size
    rows = []
    for i in range(start, start + n):
        rows.append({
            "name": f"player{rnd.randrange(names)}",
            "score": rnd.randrange(1_000_000),
            "tags": rnd.sample(TAGS, rnd.randint(1, 3)),
            "location": {"__type": "GeoPoint", "latitude": round(rnd.uniform(-85, 85), 6),
                         "longitude": round(rnd.uniform(-180, 180), 6)},
            "player": {"__type": "Pointer", "className": "Player",
                       "objectId": player_ids[rnd.randrange(len(player_ids))]},
        })
    return rows


TAGS = [f"tag{i}" for i in range(N_TAGS)]


# -- the three databases ---------------------------------------------------------------
class Engine:
    name = "engine"

    def __init__(self, path: Optional[str]) -> None:
        self.con = cql.connect(path)
        self.backend = self.con.backend

    def load(self, players: List[dict], rows: List[dict]) -> Tuple[List[str], List[str]]:
        pids = [o["objectId"] for o in self.backend.run(Create("Player", tuple(players))).objects]
        return pids, []

    def load_scores(self, rows: List[dict]) -> List[str]:
        ids: List[str] = []
        for i in range(0, len(rows), BULK):
            res = self.backend.run(Create("GameScore", tuple(rows[i:i + BULK])))
            ids.extend(o["objectId"] for o in res.objects)
        return ids

    def all_scores(self) -> List[dict]:
        return list(self.backend.store.classes["GameScore"].values())

    def all_players(self) -> List[dict]:
        return list(self.backend.store.classes["Player"].values())

    # queries
    def eq(self, name): return self.con.execute("select * from GameScore where name = ?", name).objects

    def range_order(self, lo): return self.con.execute(
        "select * from GameScore where score > ? order by -score limit 10", lo).objects

    def prefix(self, p): return self.con.execute(
        "select * from GameScore where name like ? limit 100", p + "%").objects

    def in_list(self, names): return self.con.execute(
        "select * from GameScore where name in (?, ?, ?)", *names).objects

    def count(self, lo, hi): return self.con.execute(
        "select count(*) from GameScore where score >= ? and score < ?", lo, hi).count

    def contains(self, tag): return self.con.execute(
        "select * from GameScore where tags = ? limit 100", tag).objects

    def near(self, lng, lat): return self.con.execute(
        "select * from GameScore where location near geopoint(?, ?) limit 10", lng, lat).objects

    def include(self, name): return self.con.execute(
        "select include player, * from GameScore where name = ?", name).objects

    def update(self, oid, score): return self.con.execute(
        "update GameScore set score = ? where objectId = ?", score, oid).rowcount

    def bulk(self, rows): return len(self.backend.run(Create("GameScore", tuple(rows))).objects)


def _geo(lat, lng):
    return {"__type": "GeoPoint", "latitude": lat, "longitude": lng}


def _ptr(cls, oid):
    return {"__type": "Pointer", "className": cls, "objectId": oid}


class SQLite:
    name = "sqlite"
    COLS = "objectId, name, score, tags, lat, lng, player, createdAt, updatedAt"

    def __init__(self, path: str) -> None:
        db = self.db = sqlite3.connect(path)
        if path != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA case_sensitive_like = ON")  # CQL like is case-sensitive; lets LIKE use the index
        db.executescript("""
            CREATE TABLE Player (objectId TEXT PRIMARY KEY, name TEXT, createdAt TEXT, updatedAt TEXT);
            CREATE TABLE GameScore (objectId TEXT PRIMARY KEY, name TEXT, score INTEGER, tags TEXT,
                                    lat REAL, lng REAL, player TEXT, createdAt TEXT, updatedAt TEXT);
            CREATE INDEX gs_name ON GameScore(name);
            CREATE INDEX gs_score ON GameScore(score);
            CREATE TABLE GameTag (objectId TEXT, tag TEXT);
            CREATE INDEX gt_tag ON GameTag(tag, objectId);
        """)

    def load_from(self, players: List[dict], scores: List[dict]) -> None:
        self.db.executemany("INSERT INTO Player VALUES (?, ?, ?, ?)",
                            [(p["objectId"], p["name"], p["createdAt"], p["updatedAt"]) for p in players])
        self._insert(scores)
        self.db.commit()

    def _insert(self, scores: List[dict]) -> None:
        self.db.executemany(f"INSERT INTO GameScore ({self.COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(o["objectId"], o["name"], o["score"], json.dumps(o["tags"]),
                              o["location"]["latitude"], o["location"]["longitude"],
                              o["player"]["objectId"], o["createdAt"], o["updatedAt"]) for o in scores])
        self.db.executemany("INSERT INTO GameTag VALUES (?, ?)",
                            [(o["objectId"], t) for o in scores for t in o["tags"]])

    @staticmethod
    def _obj(r) -> dict:
        return {"objectId": r[0], "name": r[1], "score": r[2], "tags": json.loads(r[3]),
                "location": _geo(r[4], r[5]), "player": _ptr("Player", r[6]),
                "createdAt": r[7], "updatedAt": r[8]}

    def _q(self, sql, *args):
        return [self._obj(r) for r in self.db.execute(sql, args)]

    def eq(self, name): return self._q(f"SELECT {self.COLS} FROM GameScore WHERE name = ?", name)

    def range_order(self, lo): return self._q(
        f"SELECT {self.COLS} FROM GameScore WHERE score > ? ORDER BY score DESC LIMIT 10", lo)

    def prefix(self, p): return self._q(
        f"SELECT {self.COLS} FROM GameScore WHERE name LIKE ? LIMIT 100", p + "%")

    def in_list(self, names): return self._q(
        f"SELECT {self.COLS} FROM GameScore WHERE name IN (?, ?, ?)", *names)

    def count(self, lo, hi): return self.db.execute(
        "SELECT count(*) FROM GameScore WHERE score >= ? AND score < ?", (lo, hi)).fetchone()[0]

    def contains(self, tag): return self._q(
        f"SELECT {self.COLS} FROM GameScore WHERE objectId IN "
        "(SELECT objectId FROM GameTag WHERE tag = ?) LIMIT 100", tag)

    def near(self, lng, lat):
        # Planar distance in degrees, a full scan in C: the cheapest honest "nearest 10" SQLite offers.
        return self._q(f"SELECT {self.COLS} FROM GameScore ORDER BY "
                       "(lat - ?) * (lat - ?) + (lng - ?) * (lng - ?) LIMIT 10", lat, lat, lng, lng)

    def include(self, name):
        out = []
        for r in self.db.execute(
                "SELECT g.objectId, g.name, g.score, g.tags, g.lat, g.lng, g.player, g.createdAt,"
                " g.updatedAt, p.name, p.createdAt, p.updatedAt FROM GameScore g"
                " LEFT JOIN Player p ON p.objectId = g.player WHERE g.name = ?", (name,)):
            o = self._obj(r)
            if r[9] is not None:
                o["player"] = {"__type": "Object", "className": "Player", "objectId": r[6],
                               "name": r[9], "createdAt": r[10], "updatedAt": r[11]}
            out.append(o)
        return out

    def update(self, oid, score):
        now = cql_now()
        n = self.db.execute("UPDATE GameScore SET score = ?, updatedAt = ? WHERE objectId = ?",
                            (score, now, oid)).rowcount
        self.db.commit()
        return n

    def bulk(self, rows):
        now = cql_now()
        objs = [dict(r, objectId=os.urandom(12).hex(), createdAt=now, updatedAt=now) for r in rows]
        self._insert(objs)
        self.db.commit()
        return len(objs)


class Tiny:
    name = "tinydb"

    def __init__(self) -> None:
        from tinydb import Query, TinyDB
        from tinydb.storages import MemoryStorage
        self.db = TinyDB(storage=MemoryStorage)
        self.scores = self.db.table("GameScore", cache_size=0)
        self.players = self.db.table("Player", cache_size=0)
        self.Q = Query()

    def load_from(self, players: List[dict], scores: List[dict]) -> None:
        self.players.insert_multiple(players)
        for i in range(0, len(scores), 50_000):
            self.scores.insert_multiple(scores[i:i + 50_000])

    def eq(self, name): return self.scores.search(self.Q.name == name)

    def range_order(self, lo):
        return sorted(self.scores.search(self.Q.score > lo), key=lambda d: -d["score"])[:10]

    def prefix(self, p):
        return self.scores.search(self.Q.name.test(lambda s: isinstance(s, str) and s.startswith(p)))[:100]

    def in_list(self, names): return self.scores.search(self.Q.name.one_of(list(names)))

    def count(self, lo, hi): return self.scores.count((self.Q.score >= lo) & (self.Q.score < hi))

    def contains(self, tag): return self.scores.search(self.Q.tags.any([tag]))[:100]

    def near(self, lng, lat):
        from cql.engine.geo import distance_radians
        docs = self.scores.all()
        return sorted(docs, key=lambda d: distance_radians(
            lat, lng, d["location"]["latitude"], d["location"]["longitude"]))[:10]

    def include(self, name):
        out = []
        for d in self.scores.search(self.Q.name == name):
            d = dict(d)
            p = self.players.get(self.Q.objectId == d["player"]["objectId"])
            if p is not None:
                d["player"] = {"__type": "Object", "className": "Player", **p}
            out.append(d)
        return out

    def update(self, oid, score):
        return len(self.scores.update({"score": score, "updatedAt": cql_now()}, self.Q.objectId == oid))

    def bulk(self, rows):
        now = cql_now()
        return len(self.scores.insert_multiple(
            [dict(r, objectId=os.urandom(12).hex(), createdAt=now, updatedAt=now) for r in rows]))


def cql_now() -> str:
    from cql.engine.executor import now_iso
    return now_iso()


# -- timing -----------------------------------------------------------------------------
QUERIES = ["eq", "range_order", "prefix", "in_list", "count", "contains", "near", "include",
           "update", "bulk"]
INDEXED = ["eq", "range_order", "prefix", "in_list", "count", "contains", "include", "update"]


def param_sets(n: int, ids: List[str], rnd: random.Random) -> Dict[str, List[tuple]]:
    names = max(n // 10, 1)
    return {
        "eq": [(f"player{rnd.randrange(names)}",) for _ in range(50)],
        "range_order": [(rnd.randrange(900_000),) for _ in range(50)],
        "prefix": [(f"player{rnd.randrange(10, 100)}",) for _ in range(50)],
        "in_list": [([f"player{rnd.randrange(names)}" for _ in range(3)],) for _ in range(50)],
        "count": [(lo, lo + 10_000) for lo in (rnd.randrange(990_000) for _ in range(50))],
        "contains": [(rnd.choice(TAGS),) for _ in range(50)],
        "near": [(rnd.uniform(-180, 180), rnd.uniform(-80, 80)) for _ in range(20)],
        "include": [(f"player{rnd.randrange(names)}",) for _ in range(50)],
        # one set per timed call (at most 400): every update writes a new score
        "update": [(rnd.choice(ids), rnd.randrange(1_000_000)) for _ in range(401)],
    }


def time_query(db: Any, query: str, params: List[tuple], budget: float,
               bulk_rows: Optional[List[List[dict]]] = None) -> float:
    fn: Callable = getattr(db, query)
    if query == "bulk":
        times = []
        for rows in bulk_rows or []:
            t = time.perf_counter()
            fn(rows)
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    fn(*params[0])  # warm-up: builds indexes on demand
    times = []
    start = time.perf_counter()
    i = 0
    while (time.perf_counter() - start < budget and i < 400) or len(times) < 3:
        p = params[i % len(params)]
        t = time.perf_counter()
        fn(*p)
        times.append(time.perf_counter() - t)
        i += 1
    return statistics.median(times)


def check_same(engine: Engine, other: Any, sets: Dict[str, List[tuple]]) -> List[str]:
    """Queries whose answers differ (ordered queries compared in order)."""
    bad = []
    for q in ("eq", "range_order", "in_list", "count", "include"):
        p = sets[q][1]
        a, b = getattr(engine, q)(*p), getattr(other, q)(*p)
        if q == "count":
            same = a == b
        elif q == "range_order":
            same = [o["score"] for o in a] == [o["score"] for o in b]
        else:
            key = lambda o: o["objectId"]  # noqa: E731
            strip = lambda o: {k: v for k, v in o.items() if k not in ("createdAt", "updatedAt")}  # noqa: E731
            same = [strip(o) for o in sorted(a, key=key)] == [strip(o) for o in sorted(b, key=key)] \
                if q != "include" else sorted(o["objectId"] for o in a) == sorted(o["objectId"] for o in b)
        if not same:
            bad.append(q)
    return bad


def fmt(t: float) -> str:
    if t >= 1:
        return f"{t:7.2f} s "
    if t >= 1e-3:
        return f"{t * 1e3:7.2f} ms"
    return f"{t * 1e6:7.1f} us"


def run_size(n: int, tinydb_max: int, budget: float, seed: int, folder: Optional[str]) -> Dict[str, Dict[str, float]]:
    rnd = random.Random(seed)
    print(f"\n== {n:,} GameScore objects ==")
    for name in (f"engine-{n}.db", f"sqlite-{n}.db") if folder else ():
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(os.path.join(folder, name + suffix)):
                os.remove(os.path.join(folder, name + suffix))
    engine = Engine(os.path.join(folder, f"engine-{n}.db") if folder else None)
    players = [{"name": f"p{i}"} for i in range(N_PLAYERS)]
    pids, _ = engine.load(players, [])
    rows = make_rows(n, rnd, pids)
    gc.collect()
    before = rss_bytes()
    t = time.perf_counter()
    ids = engine.load_scores(rows)
    load_s = time.perf_counter() - t
    del rows
    gc.collect()
    grown = rss_bytes() - before
    print(f"engine load: {load_s:.1f} s ({n / load_s:,.0f} rows/s); RSS +{grown / 2**20:,.0f} MiB while loading")
    scores = engine.all_scores()
    player_objs = engine.all_players()
    sides: List[Any] = [engine]
    sq = SQLite(os.path.join(folder, f"sqlite-{n}.db") if folder else ":memory:")
    t = time.perf_counter()
    sq.load_from(player_objs, scores)
    print(f"sqlite load: {time.perf_counter() - t:.1f} s")
    sides.append(sq)
    if n <= tinydb_max:
        tiny = Tiny()
        t = time.perf_counter()
        tiny.load_from(player_objs, scores)
        print(f"tinydb load: {time.perf_counter() - t:.1f} s")
        sides.append(tiny)
    else:
        print(f"tinydb: skipped at {n:,} (each query is a full Python scan; use --tinydb-max)")
    del scores
    sets = param_sets(n, ids, rnd)
    for other in sides[1:]:
        bad = check_same(engine, other, sets)
        print(f"answers engine vs {other.name}: {'same' if not bad else 'DIFFER: ' + ', '.join(bad)}")
    bulk_rows = [make_rows(BULK, rnd, pids) for _ in range(3)]
    before_idx = rss_bytes()
    out: Dict[str, Dict[str, float]] = {}
    for q in QUERIES:
        out[q] = {}
        for db in sides:
            b = budget if db.name != "tinydb" else budget / 2
            out[q][db.name] = time_query(db, q, sets.get(q, []), b, bulk_rows)
    built = ", ".join(f"{i['field']} ({i['kind']})" for i in engine.con.indexes("GameScore"))
    print(f"engine indexes built on demand (in the file): {built};"
          f" RSS +{(rss_bytes() - before_idx) / 2**20:,.0f} MiB during the queries (all sides); RSS now"
          f" {rss_bytes() / 2**20:,.0f} MiB; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report(out, [d.name for d in sides])
    text_insert(engine, bulk_rows[0])
    return out


_TEXTS = itertools.count(1)


def text_insert(engine: Engine, rows: List[dict]) -> None:
    """The same 10k-row bulk insert as a user writes it: one INSERT text with
    ? parameters through Connection.execute, split into parser, planner, engine."""
    from cql.parser import parse
    from cql.planner import plan
    cols = list(rows[0])
    text = (f"insert into GameScore ({', '.join(cols)}) values "
            + ", ".join(["(" + ", ".join("?" * len(cols)) + ")"] * len(rows)))
    params = [cql.types.decode(r[c]) for r in rows for c in cols]
    text += " " * next(_TEXTS)  # a text not parsed before: the parse cache misses
    t0 = time.perf_counter()
    stmt = parse(text)[0]
    t1 = time.perf_counter()
    p = plan(stmt, params)
    t2 = time.perf_counter()
    engine.backend.run(p)
    t3 = time.perf_counter()
    engine.con.execute(text, *params)  # the same text again (the parser caches texts up to 16 KB only)
    t4 = time.perf_counter()
    print(f"bulk insert as CQL text ({len(rows):,} rows, {len(params):,} parameters, {len(text) // 1024} KB):"
          f" parse {fmt(t1 - t0)}, plan {fmt(t2 - t1)}, engine {fmt(t3 - t2)};"
          f" execute() of the same text again {fmt(t4 - t3)}")


def report(out: Dict[str, Dict[str, float]], names: List[str]) -> None:
    head = f"{'query':<12}" + "".join(f"{n:>12}" for n in names)
    head += f"{'sqlite/eng':>12}" + (f"{'tiny/eng':>12}" if "tinydb" in names else "")
    print(head)
    ratios_sq, ratios_tiny = [], []
    for q, row in out.items():
        line = f"{q:<12}" + "".join(f"{fmt(row[n]):>12}" for n in names)
        r = row["engine"] / row["sqlite"]
        ratios_sq.append(r)
        line += f"{row['sqlite'] / row['engine']:>11.2f}x"
        if "tinydb" in row:
            rt = row["tinydb"] / row["engine"]
            ratios_tiny.append(rt)
            line += f"{rt:>11.1f}x"
        print(line)
    gm = math.exp(sum(math.log(r) for r in ratios_sq) / len(ratios_sq))
    print(f"geometric mean engine time / sqlite time: {gm:.2f} (target <= 1.5)")
    if ratios_tiny:
        gt = math.exp(sum(math.log(r) for r in ratios_tiny) / len(ratios_tiny))
        print(f"geometric mean tinydb time / engine time: {gt:.1f} (target >= 10); "
              f"slowest query vs tinydb: {min(ratios_tiny):.1f}x")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated object counts")
    ap.add_argument("--tinydb-max", type=int, default=100_000, help="largest size TinyDB runs at")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per query and database")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--transient", action="store_true", help="both databases in memory instead of files")
    args = ap.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    results = {}
    import tempfile
    with tempfile.TemporaryDirectory(prefix="cql-bench-engine-") as folder:
        for n in sizes:
            results[n] = run_size(n, args.tinydb_max, args.budget, args.seed, None if args.transient else folder)
            gc.collect()
    if len(sizes) >= 2:
        small, big = min(sizes), max(sizes)
        print(f"\nengine scaling {small:,} -> {big:,} (indexed queries; target <= 2x):")
        for q in INDEXED:
            a, b = results[small][q]["engine"], results[big][q]["engine"]
            print(f"  {q:<12} {fmt(a)} -> {fmt(b)}  {b / a:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
