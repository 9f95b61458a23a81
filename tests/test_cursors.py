"""Keyset cursors on the embedded engine: 1,000 objects with duplicate sort
values, nulls and missing values, in pages of 7; rows written between pages;
end cursors; the offset fallback."""
from __future__ import annotations

import pytest

import cql
from cql import paging
from pyapi_cases import all_pages, check_sorted, load_numbers, paged_orders


@pytest.fixture(scope="module")
def numbers():
    conn = cql.connect()
    load_numbers(conn, "Num")
    yield conn
    conn.close()


def test_every_order_pages_without_skipping_or_repeating(numbers):
    answers = paged_orders(lambda order: cql.Query("Num", conn=numbers).order(*order))
    scores = [s for (s,) in answers["score"]]
    assert scores.count(None) > 100 and len(set(scores)) == 13  # the data has what the test is about
    assert answers["-score"] == sorted(answers["-score"], key=lambda t: -1 if t[0] is None else t[0],
                                       reverse=True)


def test_pages_over_dates_and_booleans(numbers):
    for order in (["createdAt"], ["-updatedAt"]):
        rows, pages = all_pages(cql.Query("Num", conn=numbers).order(*order), 7)
        assert len({r.get("k") for r in rows}) == 1000 and pages == 143
        check_sorted([{"createdAt": r.created_at, "updatedAt": r.updated_at} for r in rows], order)
    conn = cql.connect()
    Flag = cql.Object.extend("Flag")
    cql.Object.save_all([Flag(k=i, on=bool(i % 3)) for i in range(50)], conn=conn)
    rows, _ = all_pages(cql.Query("Flag", conn=conn).order("-on"), 4)
    assert [r.get("on") for r in rows] == [True] * 33 + [False] * 17 and len({r.get("k") for r in rows}) == 50


def test_rows_written_between_pages(numbers):
    conn = cql.connect()
    load_numbers(conn, "Live", n=60)
    q = cql.Query("Live", conn=conn).order("score")
    seen, cursor = [], None
    Live = cql.Object.extend("Live")
    for step in range(100):
        page, cursor, more = q.fetch_page(7, start_cursor=cursor)
        seen.extend(page)
        if step == 1:  # inside the nulls: a null sorts before the cursor only if its id is smaller
            Live(k=1000, score=None).save(conn=conn)   # new id: after the cursor, seen
            Live(k=1001, score=5).save(conn=conn)      # after: seen
            seen[0].destroy(conn=conn)                 # already read: no effect on later pages
            next_row = q.with_cursor(cursor).fetch(1)[0]
            next_row.destroy(conn=conn)                # not read yet: never seen
            gone = next_row.get("k")
        if not more:
            break
    ks = [r.get("k") for r in seen]
    assert len(ks) == len(set(ks)) == 61
    assert 1000 in ks and 1001 in ks and gone not in ks


def test_end_cursor_stops_inclusively(numbers):
    q = cql.Query("Num", conn=numbers).order("-score", "name")
    first, c1, _ = q.fetch_page(7)
    second, c2, _ = q.fetch_page(7, start_cursor=c1)
    assert [r.get("k") for r in q.with_cursor(end_cursor=c2).fetch()] == [r.get("k") for r in first + second]
    assert [r.get("k") for r in q.with_cursor(c1, c2).fetch()] == [r.get("k") for r in second]


def test_cursor_where_is_written_out(numbers):
    q = cql.Query("Num", conn=numbers).order("-score")
    q.fetch(3)
    position = paging.decode(q.cursor(), q.plan().order + ("objectId",))
    score, oid = position.values
    where = q.with_cursor(q.cursor()).plan().where
    if score is None:
        assert where == {"score": None, "objectId": {"$gt": oid}}
    else:
        assert where == {"$or": [{"score": {"$lt": score}}, {"score": None},
                                 {"score": score, "objectId": {"$gt": oid}}]}


def test_unsortable_values_fall_back_to_offsets():
    conn = cql.connect()
    Arr = cql.Object.extend("Arr")
    cql.Object.save_all([Arr(k=i, tags=[i % 3]) for i in range(10)], conn=conn)
    q = cql.Query("Arr", conn=conn).order("tags")
    rows, pages = all_pages(q, 3)
    assert len({r.get("k") for r in rows}) == 10 and pages == 4
    page, cursor, _ = q.fetch_page(3)
    assert q.with_cursor(cursor).plan().skip == 3


def test_run_and_scan_use_keyset_pages(numbers):
    q = cql.Query("Num", conn=numbers).order("score")
    ks = [r.get("k") for r in q.run(batch_size=7)]
    assert len(ks) == len(set(ks)) == 1000
    assert len({r.get("k") for r in cql.Query("Num", conn=numbers).scan(batch_size=7)}) == 1000
