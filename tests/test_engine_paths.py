"""Every operator answers the same on every path of the embedded engine: the
persistent indexes (built on first use), the scan with SQL pre-filters and
projected fields (no index, no cache), the in-memory scan of a cached class,
and brute force with the matcher over all objects."""
import random

import pytest

from cql import CQLError
from cql.engine import EngineBackend, matcher
from cql.plan import Find

OID = "{:024x}"


def make_objects(seed, n=320):
    rnd = random.Random(seed)
    words = ["", "a", "ab", "abc", "b", "B", "é", "ü\x00z", "it's", 'q"uote', "back\\slash", "a b", "[x]",
             "1", "true", "null", "\U0001f600", "z" * 30]
    objs = []
    for i in range(n):
        o = {"objectId": OID.format(i * 7919 % 10 ** 6), "createdAt": f"2020-01-{1 + i % 28:02d}T00:00:00.000Z",
             "updatedAt": f"2021-01-{1 + i % 28:02d}T00:00:00.{i % 1000:03d}Z"}
        r = rnd.random()
        if r < 0.55:
            o["n"] = rnd.choice([rnd.randint(-5, 5), rnd.randint(-5, 5) + 0.5, 0.1, 2 ** 70, -(2 ** 64),
                                 1e-7, 3.0, -0.0])
        elif r < 0.65:
            o["n"] = None
        elif r < 0.75:
            o["n"] = [rnd.randint(-5, 5) for _ in range(rnd.randint(0, 3))]
        elif r < 0.8:
            o["n"] = rnd.choice(["3", True, False, {"k": 1}])
        if rnd.random() < 0.85:
            o["s"] = rnd.choice(words) if rnd.random() < 0.85 else rnd.choice([[rnd.choice(words)], 7, None, []])
        if rnd.random() < 0.7:
            o["b"] = rnd.random() < 0.5
        if rnd.random() < 0.6:
            o["tags"] = rnd.sample(["x", "y", "z", "w"], rnd.randint(0, 3))
        if rnd.random() < 0.5:
            o["d"] = {"__type": "Date", "iso": f"2020-0{rnd.randint(1, 9)}-0{rnd.randint(1, 9)}T00:00:00.000Z"}
        if rnd.random() < 0.5:
            o["p"] = {"__type": "Pointer", "className": "U", "objectId": rnd.choice(["u1", "u2", "u3"])}
        if rnd.random() < 0.7:
            o["loc"] = {"__type": "GeoPoint", "latitude": round(rnd.uniform(-89, 89), 4),
                        "longitude": round(rnd.uniform(-179, 179), 4)}
        if rnd.random() < 0.3:
            o["obj"] = {"k": rnd.randint(0, 3), "arr": [{"v": rnd.randint(0, 2)}]}
        # fields that never hold arrays: ranges and ORDER BY walk their indexes
        if rnd.random() < 0.9:
            o["m"] = rnd.choice([rnd.randint(0, 40), rnd.randint(0, 40) + 0.25, None, 2 ** 65, "7", False])
        if rnd.random() < 0.9:
            o["w"] = rnd.choice(words + [f"w{rnd.randint(0, 99):02d}"])
        objs.append(o)
    return objs


GEO = {"__type": "GeoPoint", "latitude": 10.0, "longitude": 20.0}
WHERES = [
    {}, {"n": 3}, {"n": 0}, {"n": -0.0}, {"n": 0.5}, {"n": 2 ** 70}, {"n": None}, {"n": [1, 2]}, {"n": "3"},
    {"n": True}, {"n": {"$ne": 3}}, {"n": {"$ne": None}}, {"n": {"$gt": 2}}, {"n": {"$gte": 2.5}},
    {"n": {"$lt": -1}}, {"n": {"$lte": 0}}, {"n": {"$gt": -2, "$lt": 2}}, {"n": {"$gte": 0.1, "$lte": 0.1}},
    {"n": {"$gt": 1e20}}, {"n": {"$lt": -(2 ** 63)}}, {"n": {"$gt": None}}, {"n": {"$lte": None}},
    {"n": {"$gt": "2"}}, {"n": {"$in": [1, 2, 0.5]}}, {"n": {"$in": [None, 3]}}, {"n": {"$nin": [1, 2]}},
    {"n": {"$all": [1, 2]}}, {"n": {"$exists": True}}, {"n": {"$exists": False}}, {"n": {"$size": 2}},
    {"n": {"$eq": 3.0}}, {"n": {"$not": {"$gt": 1}}}, {"n": {"$elemMatch": {"$gt": 2}}},
    {"s": "a"}, {"s": ""}, {"s": "ü\x00z"}, {"s": "it's"}, {"s": 'q"uote'}, {"s": "back\\slash"},
    {"s": {"$gt": "a"}}, {"s": {"$gte": "ab", "$lt": "b"}}, {"s": {"$lt": "a b"}}, {"s": {"$lte": ""}},
    {"s": {"$gt": "ü"}}, {"s": {"$in": ["a", "B", 7]}}, {"s": {"$regex": "^a"}}, {"s": {"$regex": "^ab.*"}},
    {"s": {"$regex": "b"}}, {"s": {"$regex": "^A", "$options": "i"}}, {"s": {"$regex": "^\\[x"}},
    {"s": {"$nin": ["a", "b"]}}, {"s": 7}, {"s": {"$gt": 5}}, {"s": []}, {"s": {"$exists": False}},
    {"b": True}, {"b": False}, {"b": {"$ne": True}}, {"b": {"$in": [True, None]}},
    {"tags": "x"}, {"tags": ["x", "y"]}, {"tags": {"$all": ["x", "y"]}}, {"tags": {"$in": ["w", "q"]}},
    {"tags": {"$size": 0}}, {"tags": {"$gt": "x"}}, {"tags": []},
    {"d": {"$gt": {"__type": "Date", "iso": "2020-05-01T00:00:00.000Z"}}},
    {"d": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}},
    {"createdAt": {"$gte": "2020-01-10T00:00:00.000Z", "$lt": "2020-01-20T00:00:00.000Z"}},
    {"updatedAt": {"$lt": {"__type": "Date", "iso": "2021-01-03T00:00:00Z"}}},
    {"p": {"__type": "Pointer", "className": "U", "objectId": "u1"}},
    {"p": {"$in": [{"__type": "Pointer", "className": "U", "objectId": "u2"}]}},
    {"loc": {"$nearSphere": GEO, "$maxDistanceInKilometers": 3000}},
    {"loc": {"$within": {"$box": [{"latitude": -10, "longitude": -20}, {"latitude": 30, "longitude": 60}]}}},
    {"loc": {"$within": {"$box": [{"latitude": -10, "longitude": 170}, {"latitude": 30, "longitude": -170}]}}},
    {"loc": {"$geoWithin": {"$centerSphere": [[20, 10], 0.5]}}},
    {"loc": {"$within": {"$polygon": [[0, 0], [40, 0], [40, 40], [0, 40]]}}},
    {"obj.k": 2}, {"obj.arr.v": 1}, {"obj": {"k": 1, "arr": [{"v": 0}]}},
    {"m": 7}, {"m": {"$gt": 20}}, {"m": {"$gte": 3.25, "$lt": 30}}, {"m": {"$lte": 0}}, {"m": {"$gt": 2 ** 64}},
    {"m": {"$in": [1, 2, 3, None]}}, {"m": {"$gt": 5}, "w": {"$regex": "^w1"}}, {"m": {"$lt": "8"}},
    {"w": {"$regex": "^w"}}, {"w": {"$regex": "^w0"}}, {"w": {"$gte": "w50"}}, {"w": {"$gt": "b", "$lt": "w"}},
    {"w": {"$regex": "^a", "$lt": "ab"}}, {"w": "abc"}, {"w": {"$in": ["a", "w07"]}},
    {"objectId": OID.format(7919)}, {"objectId": {"$in": [OID.format(0), OID.format(7919 * 3), "nope"]}},
    {"objectId": {"$gt": OID.format(500000)}},
    {"$or": [{"n": 1}, {"s": "a"}]}, {"$and": [{"n": {"$gt": 0}}, {"n": {"$lt": 4}}]},
    {"$nor": [{"b": True}, {"n": {"$gt": 0}}]}, {"n": {"$gt": 0}, "s": {"$regex": "^a"}, "b": True},
    {"n": {"$gt": 0}, "tags": "x"}, {"s": {"$in": ["a", "ab"]}, "n": {"$lte": 3}},
]
ORDERS = [(), ("n",), ("-n",), ("s", "-n"), ("-createdAt",), ("b", "s"), ("m",), ("-m", "w"), ("-w",),
          ("obj.k",), ("-obj.arr.v", "m"), ("-obj.k", "-obj.arr.v")]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paths")
    objs = make_objects(1)
    indexed = EngineBackend(str(folder / "indexed.db"), strict_types=False)  # indexes built on first use
    scanning = EngineBackend(str(folder / "scan.db"), strict_types=False, auto_index=False, cache_mb=0)
    memory = EngineBackend(None, strict_types=False, auto_index=False)  # read whole, then from memory
    for e in (indexed, scanning, memory):
        assert e.write_objects("R", objs) == (len(objs), 0, 0)
    yield objs, {"indexed": indexed, "scanning": scanning, "memory": memory}
    for e in (indexed, scanning, memory):
        e.close()


def brute(objs, where, order, skip, limit):
    pred = matcher.compile_where(where or None)
    out = [o for o in sorted(objs, key=lambda o: o["objectId"]) if pred(o)]
    if order:
        out = matcher.order_objects(out, list(order))
    else:
        spec = matcher.near_spec(where)
        if spec is not None:
            out.sort(key=spec.distance)
    return out, len(out)


@pytest.mark.parametrize("where", WHERES, ids=[str(w)[:60] for w in WHERES])
def test_every_path_agrees_with_brute_force(engines, where):
    objs, by_name = engines
    for order in ORDERS:
        if order and matcher.near_spec(where) is not None:
            continue
        for skip, limit in ((0, 1000), (2, 5)):
            expected, count = brute(objs, where, order, skip, limit)
            want = [o["objectId"] for o in expected[skip:skip + limit]]
            for name, e in by_name.items():
                res = e.run(Find("R", where=where, order=order, skip=skip, limit=limit, count=True))
                assert res.count == count, (name, where, order)
                got = [o["objectId"] for o in res.objects]
                if order or matcher.near_spec(where) is not None:
                    assert got == want, (name, where, order, skip, limit)
                else:
                    assert len(got) == len(want) and set(got) <= {o["objectId"] for o in expected}, (name, where)
                if skip == 0 and limit == 1000:
                    by_id = {o["objectId"]: o for o in objs}
                    assert all(o == by_id[o["objectId"]] for o in res.objects), name  # whole objects
                # without count: ORDER BY + LIMIT may walk an index
                res2 = e.run(Find("R", where=where, order=order, skip=skip, limit=limit))
                if order:
                    assert [o["objectId"] for o in res2.objects] == want, (name, where, order, res2.info)
                only = e.run(Find("R", where=where, count=True, limit=0))
                assert only.count == count, (name, where)


def test_the_indexed_engine_did_use_its_indexes(engines):
    _objs, by_name = engines
    notes = {by_name["indexed"].run(Find("R", where=w, limit=10)).info["index"] for w in WHERES}
    assert {"m (sorted)", "w (sorted)", "m (hash)", "s (hash)", "tags (hash)", "objectId (hash)",
            "loc (geo)", "scan"} <= notes, notes
    walks = {by_name["indexed"].run(Find("R", order=o, limit=3)).info["index"] for o in (("m",), ("-w",))}
    assert walks == {"m (sorted)", "w (sorted)"}
    kinds = {(i["field"], i["kind"]) for i in by_name["indexed"].indexes("R")}
    assert ("s", "key") in kinds and ("loc", "geo") in kinds
    assert by_name["scanning"].indexes("R") == []


@pytest.mark.parametrize("seed", range(3))
def test_paths_agree_through_writes(tmp_path, seed):
    """Updates and deletes keep the persistent indexes equal to the objects."""
    rnd = random.Random(seed)
    objs = make_objects(seed + 10, 150)
    a = EngineBackend(str(tmp_path / "a.db"), strict_types=False)
    b = EngineBackend(str(tmp_path / "b.db"), strict_types=False, auto_index=False, cache_mb=0)
    for e in (a, b):
        e.write_objects("R", objs)
    for field in ("n", "s", "tags", "b", "createdAt"):
        a.create_index("R", field)
    a.create_index("R", "loc", "geo")
    from cql.plan import Delete, Update
    for step in range(40):
        donor = rnd.choice(objs)
        target = rnd.choice(objs)["objectId"]
        body = {k: v for k, v in donor.items() if k not in ("objectId", "createdAt", "updatedAt")}
        where = rnd.choice(WHERES[:40])
        outcomes = []
        for e in (a, b):
            try:
                if step % 5 == 4:
                    e.run(Delete("R", where={"objectId": target}))
                elif step % 5 == 3:
                    e.run(Update("R", {"n": {"__op": "Increment", "amount": 1}},
                                 where={"b": True, "n": {"$gt": 0, "$lt": 100}}))
                else:
                    e.run(Update("R", body, object_id=target))
                outcomes.append("ok")
            except CQLError as exc:
                outcomes.append(exc.code)
        assert outcomes[0] == outcomes[1]
        ra = a.run(Find("R", where=where, order=("objectId",), limit=1000, count=True))
        rb = b.run(Find("R", where=where, order=("objectId",), limit=1000, count=True))
        assert ra.count == rb.count and [o["objectId"] for o in ra.objects] == [o["objectId"] for o in rb.objects]
        strip = lambda o: {k: v for k, v in o.items() if k != "updatedAt"}  # noqa: E731
        assert [strip(o) for o in ra.objects] == [strip(o) for o in rb.objects]
    check = a.store.db.execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"
    a.close(), b.close()
