"""Faults: a server that goes away and comes back, 503s, timeouts, error
shapes, batches with failing items, and LeanCloud's /cloudQuery (which Parse
Server lacks, so a tiny local HTTP server stands in for it)."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

import cql
from cql.rest import BatchError
from localhttp import LocalServer, json_answer
from testserver import APP_ID, MASTER_KEY, REST_KEY, connect


def test_server_stopped_mid_session_then_back(server, cls):
    conn = connect(server, "parse")
    conn.execute(f"insert into {cls} (n) values (1)")
    server.stop_parse()
    try:
        with pytest.raises(cql.ConnectionFailed) as info:
            conn.execute(f"select * from {cls}")
        err = info.value
        assert err.code == 100
        assert server.parse_url in str(err)
        assert MASTER_KEY not in str(err) and MASTER_KEY not in repr(err)
    finally:
        server.start_parse()
    assert conn.execute(f"select count(*) from {cls}").count == 1  # same connection works again
    conn.close()


def test_503_is_retried_for_queries(server, cls):
    connect(server).execute(f"insert into {cls} (n) values (1), (2)")
    seen = []

    def answer(req):
        seen.append(req.method)
        if len(seen) == 1:
            return json_answer(503, {"code": 503, "error": "busy"})
        return None  # forward to Parse Server

    with LocalServer(answer, upstream=server.root) as proxy:
        conn = cql.connect(proxy.url + "/parse", app_id=APP_ID, master_key=MASTER_KEY, backoff=0.01)
        assert conn.execute(f"select count(*) from {cls}").count == 2
        assert seen == ["GET", "GET"]


def test_503_is_not_retried_for_inserts(server, cls):
    seen = []

    def answer(req):
        seen.append(req.method)
        return json_answer(503, {"code": 503, "error": "busy"})

    with LocalServer(answer) as proxy:
        conn = cql.connect(proxy.url + "/parse", app_id=APP_ID, master_key=MASTER_KEY, backoff=0.01)
        with pytest.raises(cql.ServerError) as info:
            conn.execute(f"insert into {cls} (n) values (1)")
        assert info.value.code == 503 and "busy" in str(info.value)
        assert seen == ["POST"]


def test_non_idempotent_put_is_not_retried(server, cls):
    seen = []

    def answer(req):
        seen.append(req.method)
        return json_answer(502, {"code": 1, "error": "bad gateway"})

    with LocalServer(answer) as proxy:
        conn = cql.connect(proxy.url + "/parse", app_id=APP_ID, master_key=MASTER_KEY, backoff=0.01)
        with pytest.raises(cql.ServerError):
            conn.execute(f"update {cls} set n = op('Increment', {{'amount': 1}}) where objectId = 'abc'")
        assert seen == ["PUT"]
        seen.clear()
        with pytest.raises(cql.ServerError):
            conn.execute(f"update {cls} set n = 5 where objectId = 'abc'")
        assert seen == ["PUT"] * 4  # 1 + 3 retries: setting a value is idempotent


def test_timeout_is_a_clear_error():
    def answer(req):
        time.sleep(1.5)
        return json_answer(200, {"results": []})

    with LocalServer(answer) as slow:
        conn = cql.connect(slow.url + "/parse", app_id=APP_ID, rest_key=REST_KEY, timeout=0.3, retries=0)
        with pytest.raises(cql.ConnectionFailed) as info:
            conn.execute("select * from Todo")
        assert "did not answer within 0.3 s" in str(info.value)


def test_connection_refused_names_the_url_not_the_key():
    from testserver import free_port
    url = f"http://127.0.0.1:{free_port()}/parse"
    conn = cql.connect(url, app_id=APP_ID, master_key="s3cret-master", retries=1, backoff=0.01)
    with pytest.raises(cql.ConnectionFailed) as info:
        conn.execute("select * from Todo")
    text = str(info.value) + repr(info.value) + repr(conn) + repr(conn.backend) + repr(conn.backend.http)
    assert url in str(info.value) and "connection refused" in str(info.value)
    assert "s3cret-master" not in text


@pytest.mark.parametrize("status,body,code,text", [
    (500, {"code": 1, "message": "Internal server error."}, 1, "Internal server error."),
    (500, {"code": 1, "error": "An internal server error occurred"}, 1, "An internal server error occurred"),
    (403, {"error": "unauthorized"}, 403, "unauthorized"),
    (400, {"code": 119, "error": "Permission denied"}, 119, "Permission denied"),
    (502, "<html>bad gateway</html>", 502, "HTTP 502"),
])
def test_server_error_shapes(status, body, code, text):
    def answer(req):
        if isinstance(body, str):
            return status, {"Content-Type": "text/html"}, body.encode()
        return json_answer(status, body)

    with LocalServer(answer) as srv:
        conn = cql.connect(srv.url + "/parse", app_id=APP_ID, master_key=MASTER_KEY, retries=0)
        with pytest.raises(cql.ServerError) as info:
            conn.execute("select * from Todo")
        assert info.value.code == code
        assert text in str(info.value)
        assert MASTER_KEY not in str(info.value)


def test_batch_with_one_failing_item_reports_it_and_keeps_the_others(server, cls, flavor):
    conn = connect(server, flavor)
    conn.execute(f"insert into {cls} (n) values (0)")  # n is a Number from now on
    rows = ", ".join("('x')" if i in (2, 57) else f"({i})" for i in range(60))
    with pytest.raises(BatchError) as info:
        conn.execute(f"insert into {cls} (n) values {rows}")
    err = info.value
    assert [pos for pos, _, _ in err.failures] == [2, 57]
    assert err.code == 111
    assert "row 3: code 111" in str(err) and "row 58: code 111" in str(err)
    assert "58 succeeded" in str(err)
    assert len(err.outcomes) == 60 and sum("success" in o for o in err.outcomes) == 58
    assert conn.execute(f"select count(*) from {cls}").count == 59


def test_cloud_query_sends_the_statement_verbatim():
    def answer(req):
        return json_answer(200, {"results": [{"objectId": "a1", "title": "x",
                                              "createdAt": "2024-01-01T00:00:00.000Z"}],
                                 "className": "Todo"})

    with LocalServer(answer) as lc:
        conn = cql.connect(lc.url, app_id="lcapp", rest_key="lckey", flavor="leancloud", cloud_query=True)
        sql = "select * from Todo where status = ? and due < ?"
        result = conn.execute(sql, 1, {"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"})
        assert result.class_name == "Todo" and result.results[0]["title"] == "x"
        req = lc.requests[0]
        url = urlsplit(req.path)
        assert req.method == "GET" and url.path == "/1.1/cloudQuery"
        query = parse_qs(url.query)
        assert query["cql"] == [sql]
        assert json.loads(query["pvalues"][0]) == [1, {"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"}]
        headers = {k.lower(): v for k, v in req.headers.items()}
        assert headers["x-lc-id"] == "lcapp" and headers["x-lc-key"] == "lckey"


def test_leancloud_master_key_header():
    def answer(req):
        return json_answer(200, {"results": []})

    with LocalServer(answer) as lc:
        conn = cql.connect(lc.url, app_id="lcapp", master_key="lcmaster", flavor="leancloud")
        conn.execute("select * from Todo where a = 1")
        headers = {k.lower(): v for k, v in lc.requests[0].headers.items()}
        assert headers["x-lc-key"] == "lcmaster,master"
        assert lc.requests[0].path.startswith("/1.1/classes/Todo?")
