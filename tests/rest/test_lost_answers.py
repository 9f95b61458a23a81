"""Lost answers (issue 12, item 4): a write whose answer is lost after the
server applied it is reported as of unknown outcome, for exactly the items
concerned, with what to check, never as failed; a retried DELETE that finds
the object gone says so. A proxy in front of the real Parse Server forwards
a request and then drops (or replaces) its answer."""
from __future__ import annotations

import contextlib
import itertools
import os

import pytest

import cql
from cql.rest import BatchError, BatchOutcomeUnknown
from localhttp import DROP, LocalServer, json_answer
from testserver import APP_ID, MASTER_KEY, connect

_names = itertools.count()


@pytest.fixture
def cls():
    """A class of this test's own (these tests talk to the /parse mount only)."""
    return f"Lost{next(_names)}x{os.getpid()}"


@contextlib.contextmanager
def answer_lost(server, nth: int, method: str, path_part: str = "", how=DROP, **options):
    """A connection through a proxy in front of the test server: the ``nth``
    request of ``method`` (whose path holds ``path_part``) is applied upstream,
    then its answer lost (``how``: dropped, or a gateway's error). Yields the
    connection and the list of those requests."""
    seen = []

    def answer(req):
        if req.method == method and path_part in req.path:
            seen.append(req)
            if len(seen) == nth:
                status, _, _ = proxy._forward(req)  # applied upstream ...
                assert status < 300
                return how                          # ... answer lost
        return None

    with LocalServer(answer, upstream=server.root) as proxy:
        yield cql.connect(proxy.url + "/parse", app_id=APP_ID, master_key=MASTER_KEY, backoff=0.01, **options), seen


def test_lost_batch_answer_is_unknown_outcome_not_failed(server, cls):
    """Before: "50 of 120 rows failed (70 succeeded)" though all 120 were stored."""
    with answer_lost(server, 2, "POST", "/batch") as (lossy, seen):
        rows = ", ".join(f"({i})" for i in range(120))
        with pytest.raises(BatchOutcomeUnknown) as info:
            lossy.execute(f"insert into {cls} (n) values {rows}")
    err = info.value
    assert isinstance(err, cql.OutcomeUnknown) and isinstance(err, BatchError) and err.code == 100
    assert err.unknown == list(range(50, 100)) and err.failures == []
    text = str(err)
    assert "50 of 120 rows have an unknown outcome" in text and "70 succeeded" in text
    assert "rows 51-100" in text and "failed" not in text and "store them twice" in text
    assert len(seen) == 3  # the third chunk was still sent
    assert connect(server).execute(f"select count(*) from {cls}").count == 120


def test_lost_answer_to_the_first_of_several_batches_stops_there(server, cls):
    with answer_lost(server, 1, "POST", "/batch") as (lossy, seen):
        with pytest.raises(BatchOutcomeUnknown) as info:
            lossy.execute(f"insert into {cls} (n) values " + ", ".join(f"({i})" for i in range(70)))
    assert info.value.unknown == list(range(50)) and [p for p, _, _ in info.value.failures] == list(range(50, 70))
    assert "not sent" in str(info.value) and len(seen) == 1
    assert connect(server).execute(f"select count(*) from {cls}").count == 50


def test_lost_answer_to_one_insert(server, cls):
    """Before: "cannot reach the server" though the row was stored."""
    with answer_lost(server, 1, "POST", f"/classes/{cls}") as (lossy, seen):
        with pytest.raises(cql.OutcomeUnknown) as info:
            lossy.execute(f"insert into {cls} (n) values (1)")
    text = str(info.value)
    assert "may or may not be stored" in text and "cannot reach" not in text and f"Look for it in {cls}" in text
    assert len(seen) == 1  # an insert is never re-sent on its own
    assert connect(server).execute(f"select count(*) from {cls}").count == 1


def test_lost_answer_to_an_increment_is_not_retried(server, cls):
    conn = connect(server)
    oid = conn.execute(f"insert into {cls} (n) values (1)").objects[0]["objectId"]
    with answer_lost(server, 1, "PUT", f"/classes/{cls}/") as (lossy, seen):
        with pytest.raises(cql.OutcomeUnknown) as info:
            lossy.execute(f"update {cls} set n = op('Increment', {{'amount': 1}}) where objectId = ?", oid)
    assert "apply its op twice" in str(info.value) and oid in str(info.value)
    assert len(seen) == 1
    assert conn.execute(f"select n from {cls}").objects[0]["n"] == 2  # applied once


def test_retried_delete_that_finds_nothing_says_the_object_is_gone(server, cls):
    """Before: the retry's 101 was reported as "object not found" though the delete succeeded."""
    conn = connect(server)
    oid = conn.execute(f"insert into {cls} (n) values (1)").objects[0]["objectId"]
    with answer_lost(server, 1, "DELETE", f"/classes/{cls}/") as (lossy, seen):
        result = lossy.execute(f"delete from {cls} where objectId = ?", oid)
    assert result.rowcount == 1 and "is gone" in result.info["note"]
    assert len(seen) == 2  # a DELETE is idempotent: retried once, and that one found nothing
    assert conn.execute(f"select count(*) from {cls}").count == 0
    # a DELETE of an object that never existed is still 101
    with pytest.raises(cql.ObjectNotFound):
        conn.execute(f"delete from {cls} where objectId = 'nosuchobject'")


def test_lost_batch_answer_of_an_update_lists_the_objects_to_check(server, cls):
    conn = connect(server)
    conn.execute(f"insert into {cls} (n) values " + ", ".join(f"({i})" for i in range(60)))
    gateway_error = json_answer(502, {"code": 502, "error": "bad gateway"})
    with answer_lost(server, 2, "POST", "/batch", gateway_error) as (lossy, seen):
        with pytest.raises(BatchOutcomeUnknown) as info:
            lossy.execute(f"update {cls} set m = 7 where n >= 0")
    text = str(info.value)
    assert "have an unknown outcome" in text and "HTTP 502" in text
    assert f"select objectId, updatedAt from {cls} where objectId in (" in text and "10 objects in all" in text
    assert info.value.unknown == list(range(50, 60))
    assert conn.execute(f"select count(*) from {cls} where m = 7").count == 60


def test_refused_connection_is_not_unknown(server):
    from testserver import free_port
    conn = cql.connect(f"http://127.0.0.1:{free_port()}/parse", app_id=APP_ID, master_key=MASTER_KEY,
                       retries=1, backoff=0.01)
    with pytest.raises(cql.ConnectionFailed) as info:
        conn.execute("insert into Nowhere (n) values (1)")
    assert not isinstance(info.value, cql.OutcomeUnknown) and "nothing was sent" in str(info.value)
    with pytest.raises(cql.ConnectionFailed) as info:
        conn.execute("delete from Nowhere where objectId = 'abc'")
    assert not isinstance(info.value, cql.OutcomeUnknown)


# -- client-chosen objectIds: an insert whose answer was lost is sent again safely -------------

def test_inserts_with_client_ids_are_sent_again_without_duplicates(server, cls):
    with answer_lost(server, 2, "POST", "/batch", client_ids=True) as (lossy, seen):
        result = lossy.execute(f"insert into {cls} (n) values " + ", ".join(f"({i})" for i in range(120)))
    assert len(seen) == 4                      # 3 chunks, the second sent twice
    assert len(result.objects) == 120 and len({o["objectId"] for o in result.objects}) == 120
    conn = connect(server)
    assert conn.execute(f"select count(*) from {cls}").count == 120
    stored = {o["objectId"] for o in conn.execute(f"select objectId from {cls} limit 1000").objects}
    assert stored == {o["objectId"] for o in result.objects}


def test_one_insert_with_a_client_id_is_sent_again(server, cls):
    with answer_lost(server, 1, "POST", f"/classes/{cls}", client_ids=True) as (lossy, seen):
        result = lossy.execute(f"insert into {cls} (n) values (1)")
    assert len(seen) == 2 and result.objects[0]["objectId"]
    assert connect(server).execute(f"select count(*) from {cls} where objectId = ?",
                                   result.objects[0]["objectId"]).count == 1


def test_client_ids_on_a_server_that_does_not_allow_them(server, cls):
    url = server.start_strict()
    from testserver import STRICT_APP_ID
    conn = cql.connect(url, app_id=STRICT_APP_ID, master_key=MASTER_KEY, client_ids=True)
    with pytest.raises(cql.InvalidOption) as info:
        conn.execute(f"insert into {cls} (n) values (1)")
    assert "allowCustomObjectId" in str(info.value)
