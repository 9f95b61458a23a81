"""The planner's Plans (what backends receive), like_to_regex and where merging."""
import re

import pytest

import cql
from cql.plan import Create, Delete, Find, Update, requests_of
from cql.planner import like_to_regex, merge_and, plan


def plan_of(text, *params):
    [stmt] = cql.parse(text)
    return plan(stmt, params)


def test_find_fields():
    p = plan_of("select title, include author, count(*) from Post where a = ? order by -t limit 2, 3", 1)
    assert p == Find("Post", where={"a": 1}, keys=("title", "author"), include=("author",),
                     order=("-t",), limit=3, skip=2, count=True, columns=("title", "author"))
    assert not p.count_only and p.effective_limit == 3


def test_find_star_and_defaults():
    p = plan_of("select * from C")
    assert p == Find("C")
    assert p.columns is None and p.keys is None and p.limit is None and p.effective_limit == 100


def test_count_only():
    p = plan_of("select count(*) from C where a = 1 order by b limit 5, 10")
    assert p == Find("C", where={"a": 1}, count=True, limit=0)
    assert p.count_only


def test_columns_are_deduplicated_in_written_order():
    assert plan_of("select b, a, b from C").keys == ("b", "a")


def test_create():
    p = plan_of("insert into C(a, b) values (1, 'x'), (?, [1])", 2)
    assert p == Create("C", ({"a": 1, "b": "x"}, {"a": 2, "b": [1]}), ("a", "b"))


def test_update_pinned_and_not():
    p = plan_of("update C set n = op('Increment', {'amount': 2}) where objectId = ? and n < 5", "id1")
    assert p == Update("C", {"n": {"__op": "Increment", "amount": 2}}, "id1", {"n": {"$lt": 5}})
    assert p.pinned
    assert p.matching() == Find("C", where={"$and": [{"objectId": "id1"}, {"n": {"$lt": 5}}]},
                                keys=("objectId",), count=True, limit=0)
    q = plan_of("update C set n = 1 where n > 5")
    assert q == Update("C", {"n": 1}, None, {"n": {"$gt": 5}}) and not q.pinned


def test_objectid_param_that_is_not_a_string_does_not_pin():
    p = plan_of("delete from C where objectId = ?", 5)
    assert p == Delete("C", None, {"objectId": 5})


def test_delete_pinned():
    assert plan_of("delete from C where objectId = 'x'") == Delete("C", "x", {})
    assert plan_of("delete from C") == Delete("C")


def test_plan_accepts_any_sequence():
    [stmt] = cql.parse("select * from C where a = ? and b = ?")
    assert plan(stmt, [1, 2]).where == plan(stmt, (1, 2)).where == {"a": 1, "b": 2}


def test_requests_of_is_explain():
    p = plan_of("select a from C where b = 1 limit 3")
    assert requests_of(p) == cql.explain("select a from C where b = 1 limit 3") == [
        {"method": "GET", "path": "/classes/C", "params": {"where": {"b": 1}, "keys": "a", "limit": 3}}]


def test_object_ids_are_escaped_in_paths():
    assert requests_of(plan_of("delete from C where objectId = 'a/b c'"))[0]["path"] == "/classes/C/a%2Fb%20c"


@pytest.mark.parametrize("pattern,regex", [
    ("dennis%", "^dennis"),
    ("%den%", "den"),
    ("a.b%", "^a\\.b"),
    ("%", ""),
    ("%%x", "x$"),
    ("abc", "^abc$"),
    ("a_c", "^a.c$"),
    ("a%c", "^a.*c$"),
    ("[(]x", "^[(]x$"),
    ("100[%]", "^100[%]$"),
    ("(a+b)*?|^$\\{1}", "^\\(a\\+b\\)\\*\\?\\|\\^\\$\\\\\\{1\\}$"),
    ("李总%", "^李总"),
    ("a[b", "^a\\[b$"),
])
def test_like_to_regex(pattern, regex):
    assert like_to_regex(pattern) == regex
    re.compile(regex)


@pytest.mark.parametrize("pattern,text,matches", [
    ("dennis%", "dennis ritchie", True),
    ("dennis%", "mr dennis", False),
    ("%den%", "a golden b", True),
    ("a.b%", "axb", False),
    ("a.b%", "a.bc", True),
    ("a_c", "abc", True),
    ("a_c", "abbc", False),
    ("50[%]", "50%", True),
    ("50[%]", "500", False),
])
def test_like_semantics(pattern, text, matches):
    assert bool(re.search(like_to_regex(pattern), text)) is matches


def test_merge_and():
    assert merge_and([{"a": 1}, {"b": {"$gt": 1}}, {"b": {"$lt": 5}}]) == {"a": 1, "b": {"$gt": 1, "$lt": 5}}
    parts = [{"a": {"$gt": 1}}, {"a": {"$gt": 2}}]
    assert merge_and(parts) == {"$and": parts}
    parts = [{"a": {"__type": "Pointer", "className": "C", "objectId": "x"}}, {"a": {"$exists": True}}]
    assert merge_and(parts) == {"$and": parts}
    parts = [{"$or": [{"a": 1}]}, {"$or": [{"b": 1}]}]
    assert merge_and(parts) == {"$and": parts}
