"""The dialects' lowering rules, without a server: what parse-postgres sends,
what it keeps for the client, and that leancloud sends the reference lowering."""
from __future__ import annotations

import math

import pytest

import cql
from cql.rest import get_dialect

TYPES = {"tags": "Array", "name": "String", "n": "Number", "ok": "Boolean", "at": "Date",
         "loc": "GeoPoint", "owner": "Pointer", "meta": "Object", "objectId": "String"}
PG = get_dialect("parse-postgres")
LC = get_dialect("leancloud")


def lower(where, cls="C"):
    return PG.lower(cls, where, lambda c, f: TYPES.get(f), lambda c, f: "Author" if f == "owner" else None)


@pytest.mark.parametrize("where,server,residual", [
    ({"tags": "x"}, {"tags": {"$all": ["x"]}}, None),
    ({"name": "x"}, {"name": "x"}, None),
    ({"name": 5}, {}, {"name": 5}),                      # type mismatch: Postgres would 500
    ({"n": {"$gt": "a"}}, {}, {"n": {"$gt": "a"}}),
    ({"n": {"$gt": 1, "$lt": 5}}, {"n": {"$gt": 1, "$lt": 5}}, None),
    ({"n": {"$nin": [1]}}, {}, {"n": {"$nin": [1]}}),     # Postgres' NOT IN drops missing values
    ({"n": {"$in": []}}, {}, {"n": {"$in": []}}),         # Postgres: $in [] means IS NULL
    ({"n": {"$in": [1, None]}}, {}, {"n": {"$in": [1, None]}}),
    ({"tags": {"$size": 2}}, {}, {"tags": {"$size": 2}}),
    ({"tags": ["a", "b"]}, {}, {"tags": ["a", "b"]}),
    ({"name": {"$not": {"$regex": "a"}}}, {}, {"name": {"$not": {"$regex": "a"}}}),
    ({"name": {"$regex": "^ab"}}, {"name": {"$regex": "^ab"}}, None),
    ({"name": {"$regex": "\\d+"}}, {}, {"name": {"$regex": "\\d+"}}),   # \d: Unicode in Python
    ({"name": {"$regex": "x", "$options": "m"}}, {}, {"name": {"$regex": "x", "$options": "m"}}),
    ({"meta.color": "red"}, {}, {"meta.color": "red"}),
    ({"nosuch": 1}, {}, {"nosuch": 1}),
    ({"owner": {"__type": "Pointer", "className": "Author", "objectId": "a"}},
     {"owner": {"__type": "Pointer", "className": "Author", "objectId": "a"}}, None),
    ({"owner": {"__type": "Pointer", "className": "Other", "objectId": "a"}},
     {}, {"owner": {"__type": "Pointer", "className": "Other", "objectId": "a"}}),
    # MongoDB's answers Postgres cannot give (issue 11): dotted paths through
    # arrays, null on arrays, objects compared or matched as values
    ({"tags.a": None}, {}, {"tags.a": None}),
    ({"tags.a": {"$ne": None}}, {}, {"tags.a": {"$ne": None}}),
    ({"tags": None}, {}, {"tags": None}),
    ({"tags": {"$ne": None}}, {}, {"tags": {"$ne": None}}),
    ({"meta": {"a": 1}}, {}, {"meta": {"a": 1}}),
    ({"meta": {"$lt": {"b": 1}}}, {}, {"meta": {"$lt": {"b": 1}}}),
    ({"meta": {"$in": [{"a": 1}]}}, {}, {"meta": {"$in": [{"a": 1}]}}),
    ({"tags": {"$gte": {"b": 1}}}, {}, {"tags": {"$gte": {"b": 1}}}),
    ({"$or": [{"n": 1}, {"tags": {"$size": 1}}]}, {}, {"$or": [{"n": 1}, {"tags": {"$size": 1}}]}),
    ({"$or": [{"n": 1}, {"n": {"$nin": [2]}, "name": "x"}]},
     {"$or": [{"n": 1}, {"name": "x"}]}, {"$or": [{"n": 1}, {"n": {"$nin": [2]}, "name": "x"}]}),
    ({"$and": [{"n": 1}, {"tags": {"$size": 1}}]}, {"$and": [{"n": 1}]}, {"$and": [{"tags": {"$size": 1}}]}),
])
def test_parse_postgres_lowering(where, server, residual):
    lowered = lower(where)
    assert lowered.server == server
    assert lowered.residual == residual


def test_max_distance_units_become_radians():
    near = {"__type": "GeoPoint", "latitude": 48.0, "longitude": 2.0}
    lowered = lower({"loc": {"$nearSphere": near, "$maxDistanceInKilometers": 637.1}})
    assert lowered.exact
    assert math.isclose(lowered.server["loc"]["$maxDistance"], 0.1)
    lowered = lower({"loc": {"$nearSphere": near, "$minDistanceInMiles": 10}})
    assert lowered.server == {"loc": {"$nearSphere": near}}
    assert lowered.residual == {"loc": {"$nearSphere": near, "$minDistanceInMiles": 10}}


def test_order_modes():
    exact = lower({"n": 1})
    assert PG.order_mode("C", ("-createdAt",), exact)[0] == "server"
    assert PG.order_mode("C", ("n", "-name"), exact, lambda c, f: TYPES.get(f)) == ("check", ["n", "name"])
    assert PG.order_mode("C", ("tags",), exact, lambda c, f: TYPES.get(f))[0] == "client"
    assert PG.order_mode("C", ("meta", "n"), exact, lambda c, f: TYPES.get(f))[0] == "client"
    assert PG.order_mode("C", ("tags.c", "-tags.b"), exact, lambda c, f: TYPES.get(f))[0] == "client"
    near = lower({"loc": {"$nearSphere": {"__type": "GeoPoint", "latitude": 1, "longitude": 1}}})
    assert PG.order_mode("C", ("n",), near, lambda c, f: TYPES.get(f))[0] == "client"
    assert PG.count_where({}) == {"objectId": {"$exists": True}}


def test_leancloud_sends_the_reference_lowering():
    where = {"tags": "x", "n": {"$size": 2}}
    lowered = LC.lower("C", where)
    assert lowered.server == where and lowered.exact
    text = "select * from C where tags = 'x' and size(n) = 2 order by -n limit 5"
    assert cql.explain(text, dialect="leancloud") == cql.explain(text)


def test_explain_parse_postgres_without_server():
    reqs = cql.explain("select count(*) from C", dialect="parse-postgres")
    assert reqs == [{"method": "GET", "path": "/classes/C",
                     "params": {"where": {"objectId": {"$exists": True}}, "limit": 0, "count": 1}}]
    reqs = cql.explain("select * from C where size(tags) = 1 limit 3", dialect="parse-postgres")
    assert reqs[0]["client"]["where"] == {"tags": {"$size": 1}} and "limit" not in reqs[0]["params"]


def test_unknown_dialect_is_an_error():
    with pytest.raises(cql.CQLError, match="unknown dialect"):
        get_dialect("mysql")
    with pytest.raises(cql.CQLError, match="unknown dialect"):
        cql.explain("select * from C", dialect="mysql")
    with pytest.raises(cql.CQLError, match="unknown dialect"):
        cql.connect("http://127.0.0.1:9/parse", app_id="a", rest_key="k", dialect="mysql")
