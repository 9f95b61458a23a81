"""A seeded dataset with every type, loadable into any cql backend.

Objects carry a unique integer ``k`` per class, so results from backends with
different objectIds can be compared. Pointers and relations are resolved per
backend at load time. Top-level nulls are left out on purpose: Parse Server on
PostgreSQL does not store an explicit null (the field reads back as missing),
which is a storage difference, not a query one; nulls inside arrays and
objects are kept.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Tuple

from cql.plan import Create, Update
from cql.types import format_date

NAMES = ["alice", "Bob", "carol", "Dave", "Zoë", "Ölaf", "émile", "李雷", "韩梅梅", "Анна", "Ōsaka",
         "zed", "Åsa", "o'brien", "x_y", "a.b", "100%", "naïve", "Ελένη", "ß"]
WORDS = ["red", "green", "blue", "fruit", "veg", "hot", "cold", "日本", "café", "x"]
COLORS = ["red", "green", "blue", "black", None]
CITIES = [(48.8566, 2.3522), (51.5074, -0.1278), (35.6762, 139.6503), (40.7128, -74.0060),
          (-33.8688, 151.2093), (39.9042, 116.4074), (55.7558, 37.6173), (-23.5505, -46.6333)]
BASE = datetime(2020, 1, 1, tzinfo=timezone.utc)

Ref = Tuple[str, int]  # (class, k): a pointer resolved per backend


def _date(rng: random.Random) -> dict:
    moment = BASE + timedelta(seconds=rng.randrange(0, 5 * 365 * 86400), milliseconds=rng.randrange(1000))
    return {"__type": "Date", "iso": format_date(moment)}


def _geo(rng: random.Random) -> dict:
    lat, lng = rng.choice(CITIES)
    return {"__type": "GeoPoint", "latitude": round(lat + rng.uniform(-2, 2), 5),
            "longitude": round(lng + rng.uniform(-2, 2), 5)}


def generate(seed: int = 20261121) -> Dict[str, List[dict]]:
    """{class: [rows]}; pointer values are ("@ref", class, k) placeholders."""
    rng = random.Random(seed)
    data: Dict[str, List[dict]] = {"Country": [], "Author": [], "Item": [], "Event": []}
    for k in range(12):
        data["Country"].append({"k": k, "name": f"{rng.choice(NAMES)}-{k}", "code": f"C{k:02d}",
                                "rank": rng.randrange(1, 6)})
    for k in range(60):
        row = {"k": k, "name": f"{rng.choice(NAMES)} {k}", "verified": rng.random() < 0.5,
               "country": ("@ref", "Country", rng.randrange(12))}
        if rng.random() < 0.85:
            row["age"] = rng.randrange(18, 80)
        if rng.random() < 0.6:
            row["email"] = f"user{k}@{rng.choice(['a.com', 'b.org', 'c.net'])}"
        data["Author"].append(row)
    for k in range(420):
        row = {"k": k, "name": f"{rng.choice(NAMES)}-{rng.randrange(1000)}",
               "qty": rng.randrange(0, 50), "active": rng.random() < 0.6,
               "tags": rng.sample(WORDS, rng.randrange(0, 4)),
               "scores": [rng.randrange(0, 100) for _ in range(rng.randrange(0, 4))],
               "meta": {"color": rng.choice(COLORS), "size": rng.randrange(1, 10),
                        "inner": {"k": rng.choice(["a", "b", "c"])}},
               "released": _date(rng), "owner": ("@ref", "Author", rng.randrange(60)),
               "location": _geo(rng)}
        if rng.random() < 0.93:
            row["price"] = round(rng.uniform(0, 500), 2) if rng.random() < 0.7 else rng.randrange(0, 500)
        if rng.random() < 0.4:
            row["note"] = rng.choice(["fragile", "Fragile", "gift", "见面", "sale!", "a\\b", "50% off",
                                      "gift\n", "two\nlines", "\ngift"])
        if rng.random() < 0.1:
            row["misc"] = [1, None, "a"]
        if rng.random() < 0.3:
            row["rating"] = rng.choice([1, 2, 3, 4, 5])
        data["Item"].append(row)
    for k in range(40):
        data["Event"].append({"k": k, "title": f"{rng.choice(WORDS)} event {k}", "at": _date(rng),
                              "place": _geo(rng), "tags": rng.sample(WORDS, rng.randrange(0, 3)),
                              "host": ("@ref", "Author", rng.randrange(60))})
    data["Shape"] = shapes()
    return data


# MongoDB's corner cases (issue 11): dotted paths through arrays with and
# without objects, embedded objects compared field by field, compound sorts on
# paths under one array. Parse Server fixes a field's type, so shapes that mix
# types sit one level down, inside the Object field ``w``.
O_SHAPES = [[1, 2], [], [None], [{"a": 1}], [{"b": 1}], [[]], [{"a": None}], [[{"a": 1}]],
            [{"a": [1, 2]}], [{"a": {"x": 1}}], [1, {"a": 2}], [{"a": 1}, {"b": 2}], [{"a": "x"}], None]
W_SHAPES = [{"o": 5}, {"o": [1, 2]}, {"o": []}, {"o": [None]}, {"o": {"a": 1}}, {"o": {}}, {"o": None},
            {"o": "x"}, {"o": [{"a": 1}]}, {"o": [{"b": 1}]}, {}, {"o": [[{"a": 2}]]}, {"o": {"a": [0, 3]}}]
D_SHAPES = [{"a": "x"}, {"b": 1}, {"a": 1}, {"a": 1, "b": 2}, {"b": 2, "a": 1}, {}, {"a": None},
            {"a": [1]}, {"a": {"c": 1}}, {"b": "x"}, {"a": True}, {"a": 1, "c": 0}, {"a": 2.5}, {"c": None}]
S_SHAPES = [[{"b": 4, "c": 1}, {"b": 1, "c": 2}], [{"b": 2, "c": 1}, {"b": 4, "c": 2}],
            [{"b": 6, "c": 1}, {"b": 9, "c": 2}], [{"b": 4, "c": 1}, {"b": 5, "c": 3}],
            [{"b": [2, 3], "c": 1}, {"b": [7, 6], "c": 3}], [{"b": 5, "c": []}, {"b": 3, "c": 3}],
            [{"b": [], "c": 2}, {"b": 2, "c": 3}], [{"b": 3, "c": [2]}, {"b": 8, "c": [3]}], [],
            [{"c": 1}], [1, {"b": 0, "c": 5}], [{"b": "x", "c": 1}]]


def shapes() -> List[dict]:
    rows = []
    for k in range(28):
        row: dict = {"k": k, "w": W_SHAPES[k % len(W_SHAPES)], "d": D_SHAPES[k % len(D_SHAPES)]}
        o = O_SHAPES[k % len(O_SHAPES)]
        if o is not None:  # a top-level null would read back as missing on Postgres
            row["o"] = o
        if k % 13:
            row["s"] = S_SHAPES[k % len(S_SHAPES)]
        rows.append(row)
    return rows


def relations(seed: int = 20261121) -> List[Tuple[int, List[int]]]:
    """(item k, [author k, ...]) for the Item.fans relation."""
    rng = random.Random(seed + 1)
    return [(k, rng.sample(range(60), rng.randrange(1, 4))) for k in rng.sample(range(420), 40)]


def load(backend, data: Dict[str, List[dict]]) -> Dict[Ref, str]:
    """Insert everything through ``backend.run`` (Create/Update plans), in
    dependency order; returns {(class, k): objectId}."""
    ids: Dict[Ref, str] = {}

    def resolve(value):
        if isinstance(value, tuple) and value and value[0] == "@ref":
            return {"__type": "Pointer", "className": value[1], "objectId": ids[(value[1], value[2])]}
        return value

    for cls in ("Country", "Author", "Item", "Event", "Shape"):
        rows = [{key: resolve(v) for key, v in row.items()} for row in data[cls]]
        for start in range(0, len(rows), 200):
            chunk = rows[start:start + 200]
            result = backend.run(Create(cls, tuple(chunk)))
            for row, created in zip(chunk, result.objects):
                ids[(cls, row["k"])] = created["objectId"]
    for item_k, author_ks in relations():
        body = {"fans": {"__op": "AddRelation", "objects": [
            {"__type": "Pointer", "className": "Author", "objectId": ids[("Author", a)]} for a in author_ks]}}
        backend.run(Update("Item", body, object_id=ids[("Item", item_k)]))
    return ids
