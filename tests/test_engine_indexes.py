"""Indexes never change an answer: the engine (indexes on) against brute force."""
import random

import pytest

from cql.engine import EngineBackend, indexes, matcher
from cql.engine.query import regex_prefix
from cql.plan import Create, Delete, Find, Update


@pytest.mark.parametrize("pattern,prefix", [
    ("^abc", "abc"), ("^ab.*", "ab"), ("^ab*", "a"), ("^a\\.b", "a.b"), ("abc", None),
    ("^a|b", None), ("^\\d", None), ("^ab?c", "a"), ("^ab+", "ab"), ("^", None)])
def test_regex_prefix(pattern, prefix):
    assert regex_prefix(pattern, None) == prefix
    assert regex_prefix(pattern, "i") is None


NAMES = ["ann", "anna", "bob", "Bob", "carl", "", "b", "an"]


def random_value(rnd):
    return rnd.choice([
        lambda: rnd.randint(-3, 3), lambda: rnd.choice([0.5, 1.0, 2.5]), lambda: None,
        lambda: rnd.choice(NAMES), lambda: rnd.choice([True, False]),
        lambda: {"__type": "Date", "iso": f"2020-01-0{rnd.randint(1, 4)}T00:00:00.000Z"},
        lambda: [rnd.randint(0, 3) for _ in range(rnd.randint(0, 2))],
    ])()


def random_object(rnd, mixed):
    obj = {}
    if rnd.random() < 0.9:
        obj["score"] = random_value(rnd) if mixed else rnd.choice([rnd.randint(-3, 3), 1.5, None])
    if rnd.random() < 0.9:
        obj["name"] = rnd.choice(NAMES)
    if rnd.random() < 0.7:
        obj["tags"] = [rnd.choice("xyz") for _ in range(rnd.randint(0, 3))]
    return obj


def random_where(rnd):
    v = random_value(rnd)
    choices = [
        {"score": v}, {"score": {"$gt": v}}, {"score": {"$lte": v}},
        {"score": {"$gte": rnd.randint(-3, 0), "$lt": rnd.randint(0, 3)}},
        {"score": {"$in": [random_value(rnd), random_value(rnd)]}},
        {"name": rnd.choice(NAMES)}, {"name": {"$regex": "^" + rnd.choice(["a", "an", "b", "B", "c"])}},
        {"name": {"$regex": "^an", "$lt": "anna"}},
        {"tags": rnd.choice("xyz")}, {"tags": {"$in": ["x", "q"]}},
        {"tags": {"$all": ["x", rnd.choice("xyz")]}}, {"tags": {"$all": []}},
        {"name": {"$gte": "an"}, "score": {"$gt": 0}},
        {"$and": [{"name": {"$ne": "bob"}}, {"score": {"$lt": 2}}]},
        {"$or": [{"name": "ann"}, {"score": 1}]},
        {"objectId": {"$in": []}},
        {"createdAt": {"$gt": {"__type": "Date", "iso": "2000-01-01T00:00:00.000Z"}}},
        {},
    ]
    return rnd.choice(choices)


def brute(objects, where, order, skip, limit):
    pred = matcher.compile_where(where or None)
    out = [o for o in sorted(objects, key=lambda o: o["objectId"]) if pred(o)]
    if order:
        out = matcher.order_objects(out, list(order))
    count = len(out)
    end = None if limit is None else skip + limit
    return out[skip:end], count


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_engine_agrees_with_brute_force(seed, mixed, monkeypatch):
    # Small blocks and a low bulk threshold so splits and bulk merges happen.
    monkeypatch.setattr(indexes, "_BULK", 5)
    rnd = random.Random(seed * 10 + mixed)
    engine = EngineBackend(None, strict_types=False)
    engine.run(Create("R", tuple(random_object(rnd, mixed) for _ in range(120))))
    for step in range(150):
        if step in (60, 120):  # bulk inserts once indexes exist (merged into sorted blocks)
            engine.run(Create("R", tuple(random_object(rnd, mixed) for _ in range(20))))
            engine.run(Create("R", tuple(random_object(rnd, mixed) for _ in range(150))))
        if step % 10 == 9:
            ids = [o["objectId"] for o in engine.run(Find("R", limit=1000)).objects]
            if ids and rnd.random() < 0.5:
                engine.run(Update("R", random_object(rnd, mixed), object_id=rnd.choice(ids)))
            elif ids:
                engine.run(Delete("R", object_id=rnd.choice(ids)))
            engine.run(Create("R", (random_object(rnd, mixed),)))
        where = random_where(rnd)
        order = rnd.choice([(), ("score",), ("-score",), ("name", "-score"), ("-name",), ("-createdAt",)])
        skip = rnd.choice([0, 0, 2])
        limit = rnd.choice([1, 3, 10, 500])
        res = engine.run(Find("R", where=where, order=order, skip=skip, limit=limit, count=True))
        every = engine.run(Find("R", limit=1000)).objects
        expected, count = brute(every, where, order, skip, limit)
        assert res.count == count, (where, order)
        got = [o["objectId"] for o in res.objects]
        want = [o["objectId"] for o in expected]
        if order:
            assert got == want, (where, order, skip, limit)
        else:  # no ORDER BY: any order, but the same number of rows, all of them matches
            every_match = {o["objectId"] for o in brute(every, where, (), 0, None)[0]}
            assert len(got) == len(want) and set(got) <= every_match, (where, skip, limit)
            if skip == 0 and len(want) < limit:
                assert set(got) == set(want)
        # Without count, an ORDER BY + LIMIT may walk the sorted index instead.
        res2 = engine.run(Find("R", where=where, order=order, skip=skip, limit=limit))
        if order:
            assert [o["objectId"] for o in res2.objects] == want, (where, order, res2.info)


@pytest.mark.parametrize("seed", range(3))
def test_near_with_limit_agrees_with_brute_force(seed):
    rnd = random.Random(seed)
    engine = EngineBackend(None)
    rows = []
    for i in range(400):
        row = {"i": i % 7}
        if rnd.random() < 0.9:
            lat = rnd.choice([rnd.uniform(-90, 90), rnd.uniform(40, 50), 89.9, -90.0])
            row["loc"] = {"__type": "GeoPoint", "latitude": lat, "longitude": rnd.uniform(-180, 180)}
        rows.append(row)
    engine.run(Create("P", tuple(rows[:100])))
    engine.run(Find("P", where={"loc": {"$nearSphere": {"__type": "GeoPoint", "latitude": 0, "longitude": 0}}},
                    limit=1))  # builds the geo index; the next rows are merged into it in bulk
    engine.run(Create("P", tuple(rows[100:])))
    every = engine.run(Find("P", limit=1000)).objects
    for _ in range(40):
        point = {"__type": "GeoPoint", "latitude": rnd.uniform(-90, 90), "longitude": rnd.uniform(-180, 180)}
        cond = {"$nearSphere": point}
        if rnd.random() < 0.3:
            cond["$maxDistanceInKilometers"] = rnd.choice([100, 1000, 5000])
        where = {"loc": cond}
        if rnd.random() < 0.3:
            where["i"] = {"$lt": 3}
        limit, skip = rnd.choice([1, 5, 30]), rnd.choice([0, 3])
        res = engine.run(Find("P", where=where, limit=limit, skip=skip))
        pred = matcher.compile_where(where)
        spec = matcher.near_spec(where)
        expected = sorted((o for o in every if pred(o)), key=lambda o: (spec.distance(o), o["objectId"]))
        assert [o["objectId"] for o in res.objects] == \
            [o["objectId"] for o in expected[skip:skip + limit]], (where, limit, skip)
        assert res.info["index"] == ("i (sorted)" if "i" in where else "loc (geo)")


def test_estimated_counts_pick_paths_but_counts_stay_exact():
    rnd = random.Random(5)
    engine = EngineBackend(None)
    engine.run(Create("N", tuple({"v": rnd.randint(0, 5000)} for _ in range(3000))))
    for lo, hi in [(10, 4990), (0, 5001), (2500, 2600)]:
        res = engine.run(Find("N", where={"v": {"$gte": lo, "$lt": hi}}, count=True, limit=0))
        assert res.count == sum(1 for v in engine.store.classes["N"].values() if lo <= v["v"] < hi)


@pytest.mark.parametrize("op,bound,desc", [("$lt", 30, True), ("$gt", 970, False), ("$lte", 30, True),
                                           ("$gte", 500, True), ("$lt", 500, False)])
def test_ordered_walk_stays_inside_the_range_on_its_field(op, bound, desc):
    engine = EngineBackend(None)
    engine.run(Create("W", tuple({"score": i, "other": i % 3} for i in range(1000))))
    where = {"score": {op: bound}}
    order = (("score", desc),)
    engine.run(Find("W", where=where, order=("-score" if desc else "score",), limit=5))  # builds the index
    pred = matcher.compile_where(where)
    calls = []

    def counting(obj):
        calls.append(obj)
        return pred(obj)

    sel = engine.finder.find("W", where, counting, order=order, limit=5)
    every = sorted((o for o in engine.store.classes["W"].values() if pred(o)),
                   key=lambda o: o["score"], reverse=desc)
    assert [o["score"] for o in sel.objects] == [o["score"] for o in every[:5]]
    assert sel.index == "score (sorted)"
    assert len(calls) <= 10  # the walk starts inside the range, not at the other end
