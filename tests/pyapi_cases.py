"""Data and scenarios shared by the Python-API tests on the embedded engine
(tests/test_query.py, test_cursors.py) and on Parse Server (tests/rest/test_pyapi.py),
so both run the very same code and can compare answers."""
from __future__ import annotations

import random
from typing import Any, Callable, Dict, List, Optional, Tuple

import cql

BEIJING = cql.GeoPoint(latitude=39.9, longitude=116.4)


def load_todos(conn: cql.Connection, todo: str = "Todo", user: str = "User") -> Dict[str, Any]:
    """Two users and five todos (with a missing priority, an empty array,
    GeoPoints, pointers); returns the saved objects by title/name."""
    User = cql.Object.extend(user)
    Todo = cql.Object.extend(todo)
    ann = User(name="ann", vip=True, fav="beta")
    bob = User(name="bob", vip=False)
    cql.Object.save_all([ann, bob], conn=conn)
    rows = [
        dict(title="alpha", priority=1, tags=["a", "b"], done=False, loc=BEIJING, owner=ann),
        dict(title="beta", priority=2, tags=["b"], done=True,
             loc=cql.GeoPoint(latitude=31.2, longitude=121.5), owner=bob),
        dict(title="gamma", priority=3, tags=["a", "b", "c"], done=False,
             loc=cql.GeoPoint(latitude=22.5, longitude=114.1), owner=ann),
        dict(title="delta", priority=4, tags=[], done=True),
        dict(title="Epsilon 李总 (x)", tags=["c"]),
    ]
    todos = [Todo(**row) for row in rows]
    cql.Object.save_all(todos, conn=conn)
    out = {t.get("title"): t for t in todos}
    out.update(ann=ann, bob=bob)
    return out


def titles(rows: List[Any]) -> List[str]:
    return [r.get("title") for r in rows]


# -- cursors -----------------------------------------------------------------------
def load_numbers(conn: cql.Connection, cls: str, n: int = 1000, seed: int = 7) -> None:
    """``n`` objects with ``k`` (unique), ``score`` (many duplicates; about one
    in six missing and one in ten null) and ``name``."""
    rnd = random.Random(seed)
    Num = cql.Object.extend(cls)
    objects = []
    for k in range(n):
        obj = Num(k=k, name=f"n{rnd.randrange(50):02d}")
        roll = rnd.random()
        if roll < 0.1:
            obj.set("score", None)
        elif roll > 0.83:
            pass  # no score at all
        else:
            obj.set("score", rnd.randrange(12))
        objects.append(obj)
    cql.Object.save_all(objects, conn=conn)


def all_pages(query: Any, page_size: int) -> Tuple[List[Any], int]:
    """Every row through fetch_page(page_size) cursors; (rows, pages read)."""
    rows, cursor, more, pages = [], None, True, 0
    while more:
        page, cursor, more = query.fetch_page(page_size, start_cursor=cursor)
        rows.extend(page)
        pages += 1
        assert pages < 10_000, "fetch_page never said there was no more"
    return rows, pages


def sort_value(value: Any) -> Tuple[int, Any]:
    """MongoDB order for the test's values: null/missing first, then numbers, then strings."""
    if value is None:
        return (0, 0)
    return (1, value) if isinstance(value, (int, float)) else (2, value)


def check_sorted(rows: List[Any], keys: List[str]) -> None:
    """Rows follow ``keys`` (``-`` for descending) in MongoDB order."""
    def key_of(row: Any) -> tuple:
        return tuple(sort_value(row.get(k.lstrip("-"))) for k in keys)
    for a, b in zip(rows, rows[1:]):
        for k in keys:
            va, vb = sort_value(a.get(k.lstrip("-"))), sort_value(b.get(k.lstrip("-")))
            if va == vb:
                continue
            assert (va > vb) if k.startswith("-") else (va < vb), f"out of order on {k}: {key_of(a)} then {key_of(b)}"
            break


CURSOR_ORDERS = [["score"], ["-score"], ["-score", "name"], ["name", "-score"]]


def paged_orders(query_of: Callable[[List[str]], Any], page_size: int = 7) -> Dict[str, List[Optional[int]]]:
    """For each order: page through it, check every object came exactly once and
    in order; returns the sequence of sort values (the answer that must not
    depend on the backend, unlike the objectIds that break ties)."""
    answers = {}
    for order in CURSOR_ORDERS:
        query = query_of(order)
        rows, _ = all_pages(query, page_size)
        ks = [r.get("k") for r in rows]
        assert len(ks) == len(set(ks)), f"{order}: a row came twice"
        everything = sorted(r.get("k") for r in query.fetch())
        assert sorted(ks) == everything, f"{order}: rows were skipped"
        check_sorted(rows, order)
        answers[",".join(order)] = [tuple(r.get(k.lstrip("-")) for k in order) for r in rows]
    return answers
