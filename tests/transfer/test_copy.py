"""cql copy / cql verify for real: a seeded LeanCloud-style export archive
(written by the test) -> embedded file -> the real Parse Server -> embedded
file, each hop verified; a pull through the LeanCloud flavor's scan API; a
copy SIGKILLed half-way and run again; a target that cannot keep objectIds;
malformed export lines."""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time

import pytest
import requests

import cql
from cql.transfer import CopyRefused

sys.path.insert(0, os.path.dirname(__file__))
import seed  # noqa: E402
from testserver import APP_ID, MAINTENANCE_KEY, MASTER_KEY, REST_KEY, STRICT_APP_ID  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARSE_LOSSES = ["passwords", "user-acl", "auth-data", "files", "nulls"]   # what Parse Server cannot keep


def target_keys(maintenance: bool = True) -> dict:
    keys = {"app_id": APP_ID, "master_key": MASTER_KEY}
    if maintenance:
        keys["maintenance_key"] = MAINTENANCE_KEY
    return keys


def parse_get(server, path, **params):
    headers = {"X-Parse-Application-Id": APP_ID, "X-Parse-Master-Key": MASTER_KEY}
    r = requests.get(server.parse_url + path, headers=headers, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def cql_env(tmp_path, **extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for k in list(env):
        if k.startswith("CQL_") and k != "CQL_DEBUG":
            del env[k]
    env.update({"PYTHONIOENCODING": "utf-8", "CQL_HISTORY": str(tmp_path / "history")})
    env.update(extra)
    return env


def run_cql(tmp_path, *args, timeout=180, **env):
    return subprocess.run([sys.executable, "-m", "cql", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=tmp_path, env=cql_env(tmp_path, **env), timeout=timeout,
                          start_new_session=True)


def kill_copy_when(tmp_path, args, env, written, at_least):
    """Run ``cql ARGS``; SIGKILL it once ``written()`` reaches ``at_least``;
    the last count seen (the copy must not have finished by then)."""
    proc = subprocess.Popen([sys.executable, "-m", "cql", *args], cwd=tmp_path, env=cql_env(tmp_path, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    count, deadline = 0, time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            count = written()
            if count >= at_least:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, f"the copy ended before it was killed: {proc.returncode}"
    return count


def test_seed_password_hash_is_leancloud_algorithm():
    # the example of LeanCloud's dashboard guide
    assert seed.leancloud_password("password", seed.SALT) == \
        "tA7BLW+NK0UeARng0693gCaVnljkglCB9snqlpCSUKjx2RgYp8VZZOQt0S5iUtlDrkJXfT3gknS4rRqjYsd/Ug=="


@pytest.fixture(scope="module")
def hops(server, tmp_path_factory):
    """The seeded app carried archive -> embedded -> Parse Server -> embedded."""
    d = tmp_path_factory.mktemp("hops")
    tag, suffix = secrets.token_hex(4), f"H{secrets.token_hex(2)}"
    archive = seed.write_archive(str(d / "export.tar.gz"), tag=tag, suffix=suffix)
    first = str(d / "first.db")
    to_embedded = cql.copy(archive, first)
    # Parse Server cannot keep these; _File cannot exist there under that name
    to_parse = cql.copy(first, server.parse_url, target_options=target_keys(), accept=PARSE_LOSSES,
                        rename={"_File": f"LeanCloudFile{suffix}"})
    last = str(d / "last.db")
    from_parse = cql.copy(server.parse_url, last, source_options=target_keys(maintenance=False),
                          classes=["_User", "_Role", f"LeanCloudFile{suffix}", f"Author{suffix}",
                                   f"Post{suffix}", f"Comment{suffix}"])
    return dict(dir=d, tag=tag, suffix=suffix, archive=archive, first=first, last=last,
                reports=(to_embedded, to_parse, from_parse))


def test_every_hop_verifies_clean(hops):
    data = seed.app(hops["tag"], hops["suffix"])
    total = sum(len(v) for v in data.values())
    for report in hops["reports"]:
        assert report.ok, str(report)
        assert report.verify is not None and report.verify.clean, str(report.verify)
        assert sum(c.written.inserted for c in report.classes) == total, str(report)
        assert sum(c.relation_count for c in report.verify.classes) == 4


def test_embedded_copy_keeps_everything_exactly(hops):
    data = seed.app(hops["tag"], hops["suffix"])
    conn = cql.connect(hops["first"])
    try:
        for cls, objects in data.items():
            got = {o["objectId"]: o for o in conn.backend.scan_objects(cls, limit=1000)}
            assert set(got) == {o["objectId"] for o in objects}
            for obj in objects:  # every field, typed values, ACL, createdAt/updatedAt, password hashes
                assert got[obj["objectId"]] == obj
        post = f"Post{hops['suffix']}"
        ids = seed.Ids(hops["tag"])
        liked = conn.execute(f"select * from _User where related likes to pointer('{post}', ?)", ids.POSTS[0])
        assert sorted(o["objectId"] for o in liked.objects) == sorted(ids.USERS[:2])
    finally:
        conn.close()


def test_parse_server_holds_the_app(server, hops):
    tag, suffix = hops["tag"], hops["suffix"]
    ids = seed.Ids(tag)
    post = parse_get(server, f"/classes/Post{suffix}/{ids.POSTS[0]}", include="author")
    # objectIds, createdAt/updatedAt (maintenance key), pointers across classes, unicode
    assert post["createdAt"] == "2019-04-29T07:46:41.687Z" and post["updatedAt"] == "2020-11-04T03:29:17.441Z"
    assert post["author"]["name"] == "鲁迅 🖋" and post["author"]["objectId"] == ids.AUTHORS[0]
    assert post["ACL"] == {"*": {"read": True}}
    author = parse_get(server, f"/classes/Author{suffix}/{ids.AUTHORS[0]}")
    assert author["ACL"] == {"*": {"read": True}, f"role:Admin{suffix}": {"read": True, "write": True},
                             ids.USERS[0]: {"read": True, "write": True}}
    assert author["location"] == {"__type": "GeoPoint", "latitude": 31.2304, "longitude": 121.4737}
    assert author["signature"]["base64"] == seed.app(tag, suffix)[f"Author{suffix}"][0]["signature"]["base64"]
    liked = parse_get(server, "/classes/_User", where=json.dumps(
        {"$relatedTo": {"object": {"__type": "Pointer", "className": f"Post{suffix}", "objectId": ids.POSTS[0]},
                        "key": "likes"}}))
    assert sorted(u["objectId"] for u in liked["results"]) == sorted(ids.USERS[:2])
    role = parse_get(server, f"/classes/_Role/{ids.ROLE}")
    assert role["name"] == f"Admin{suffix}"


def test_password_hashes_never_reach_a_field_clients_can_read(server, hops):
    ids = seed.Ids(hops["tag"])
    users = parse_get(server, "/classes/_User", where=json.dumps({"objectId": {"$in": ids.USERS}}))["results"]
    assert len(users) == 3
    for user in users:
        assert not {"password", "salt", "sessionToken"} & set(user), user
    fields = parse_get(server, "/schemas/_User")["fields"]
    assert "salt" not in fields and "sessionToken" not in fields
    # the LeanCloud hash is not the user's password on the new server
    r = requests.post(server.parse_url + "/login", headers={"X-Parse-Application-Id": APP_ID,
                                                             "X-Parse-REST-API-Key": REST_KEY},
                      json={"username": f"lu.xun{hops['suffix']}",
                            "password": seed.leancloud_password("password", seed.SALT)}, timeout=30)
    assert r.status_code == 404 and r.json()["code"] == 101


def test_second_full_run_changes_nothing(server, hops):
    again = cql.copy(hops["first"], server.parse_url, target_options=target_keys(), accept=PARSE_LOSSES,
                     rename={"_File": f"LeanCloudFile{hops['suffix']}"})
    assert again.ok, str(again)
    assert all(c.written.inserted == c.written.replaced == 0 for c in again.classes), str(again)
    assert sum(c.written.unchanged for c in again.classes) == 13
    again = cql.copy(hops["archive"], hops["first"])
    assert again.ok and all(c.written.inserted == c.written.replaced == 0 for c in again.classes), str(again)


def test_scan_pull_through_the_leancloud_flavor(server, hops):
    """The same app pulled through LeanCloud's scan API (two objects a page)
    equals what the Parse flavor holds."""
    suffix = hops["suffix"]
    classes = [f"Author{suffix}", f"Post{suffix}", f"Comment{suffix}", "_Role"]
    lc = dict(target_keys(maintenance=False), flavor="leancloud", page_size=2)
    pulled = str(hops["dir"] / "scanned.db")
    report = cql.copy(server.root, pulled, source_options=lc, classes=classes,
                      where=f"objectId >= '{hops['tag']}' and objectId < '{hops['tag']}g'")
    assert report.ok, str(report)
    assert sum(c.written.inserted for c in report.classes) == 8
    check = cql.verify(pulled, hops["last"], classes=classes)
    assert check.clean, str(check)


def test_scan_resumes_after_an_expired_cursor(server, hops):
    from cql.transfer.server import RestEndpoint
    ep = RestEndpoint.connect(server.root, dict(target_keys(maintenance=False), flavor="leancloud", page_size=1))
    lc_master = {"X-LC-Id": APP_ID, "X-LC-Key": f"{MASTER_KEY},master"}
    try:
        seen = []
        calls_before = ep.http.calls
        for i, page in enumerate(ep.scan(f"Post{hops['suffix']}", None)):
            seen.extend(o["objectId"] for o in page)
            if i == 0:  # every cursor handed out so far expires now
                r = requests.post(server.root + "/1.1/__test/expire-scan-cursors", headers=lc_master, timeout=10)
                assert r.json()["expired"] >= 1
        assert seen == sorted(seed.Ids(hops["tag"]).POSTS)
        # 3 pages + the refused cursor + the final empty page after a fresh start at most
        assert ep.http.calls - calls_before <= 6
        # only with the master key
        with pytest.raises(cql.CQLError):
            ep2 = RestEndpoint.connect(server.root, {"app_id": APP_ID, "rest_key": REST_KEY, "flavor": "leancloud"})
            list(ep2.scan(f"Post{hops['suffix']}", None))
    finally:
        ep.close()


def test_delta_export_on_top_updates_what_changed(server, tmp_path):
    tag, suffix = secrets.token_hex(4), f"D{secrets.token_hex(2)}"
    data = seed.app(tag, suffix)
    post, author = f"Post{suffix}", f"Author{suffix}"
    small = {author: data[author], post: data[post]}
    rels = {(post, "likes"): seed.relations(tag, suffix)[(post, "likes")][:1]}
    doc = {"results": [seed.schema(suffix)["results"][0]]}
    full = seed.write_archive(str(tmp_path / "full.tar.gz"), small, rels, doc)
    db = str(tmp_path / "app.db")
    keys = target_keys()
    for target, opts in ((db, None), (server.parse_url, keys)):
        assert cql.copy(full, target, target_options=opts, accept=["nulls", "files"]).ok
    # the delta export: objects updated since, one new object, one more relation row
    changed = dict(data[post][1], title="阿Q正传 (修订)", views=5, updatedAt="2026-01-05T08:00:00.123Z")
    new = {"objectId": f"{tag}00000000000000ff", "title": "new", "author": data[post][0]["author"],
           "createdAt": "2026-01-06T00:00:00.000Z", "updatedAt": "2026-01-06T00:00:00.000Z"}
    delta_rows = {(post, "likes"): [seed.relations(tag, suffix)[(post, "likes")][1]]}
    delta = seed.write_archive(str(tmp_path / "delta.tar.gz"), {post: [changed, new]}, delta_rows, doc)
    after = {author: data[author], post: [data[post][0], changed, data[post][2], new]}
    all_rows = {(post, "likes"): seed.relations(tag, suffix)[(post, "likes")][:2]}
    whole = seed.write_archive(str(tmp_path / "whole.tar.gz"), after, all_rows, doc)
    for target, opts in ((db, None), (server.parse_url, keys)):
        report = cql.copy(delta, target, target_options=opts, accept=["nulls", "files"])
        assert report.ok, str(report)
        (c,) = report.classes
        assert (c.written.inserted, c.written.replaced, c.written.unchanged) == (1, 1, 0), str(report)
        check = cql.verify(whole, target, target_options=opts, accept=["nulls", "files"])
        assert check.clean, str(check)
    got = parse_get(server, f"/classes/{post}/{changed['objectId']}")
    assert got["updatedAt"] == "2026-01-05T08:00:00.123Z" and got["title"] == "阿Q正传 (修订)"


def test_copy_killed_half_way_then_run_again(server, tmp_path):
    """SIGKILL a copy into Parse Server mid-class, run it again: it completes,
    nothing is duplicated, verify is clean; a third run changes nothing."""
    cls = f"Bulk{secrets.token_hex(3)}"
    n = 3000
    with open(tmp_path / f"{cls}.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps({"objectId": f"b{i:07d}", "i": i, "tag": ["x", i % 7], "note": "数据" * (i % 5),
                                "createdAt": "2024-01-01T00:00:00.000Z",
                                "updatedAt": f"2024-01-02T00:00:{i % 60:02d}.000Z"}) + "\n")
    env = dict(CQL_TARGET_APP_ID=APP_ID, CQL_TARGET_MASTER_KEY=MASTER_KEY,
               CQL_TARGET_MAINTENANCE_KEY=MAINTENANCE_KEY)

    def on_server():
        return parse_get(server, f"/classes/{cls}", where=json.dumps({"i": {"$gte": 0}}), count=1, limit=0)["count"]

    count = kill_copy_when(tmp_path, ["copy", f"{cls}.jsonl", server.parse_url, "--workers", "2"], env,
                           on_server, 300)
    assert 300 <= count < n
    r = run_cql(tmp_path, "copy", f"{cls}.jsonl", server.parse_url, **env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: clean" in r.stdout and "copy: done" in r.stdout
    answer = parse_get(server, f"/classes/{cls}", where=json.dumps({"i": {"$gte": 0}}), count=1, limit=0)
    assert answer["count"] == n
    r = run_cql(tmp_path, "copy", f"{cls}.jsonl", server.parse_url, **env)
    assert r.returncode == 0 and f"0 new, 0 replaced, {n} unchanged" in r.stdout, r.stdout + r.stderr
    for key in (MASTER_KEY, MAINTENANCE_KEY):
        assert key not in r.stdout + r.stderr


def test_target_without_custom_object_ids_stops_before_writing(server, tmp_path):
    strict = server.start_strict()
    suffix = f"S{secrets.token_hex(2)}"   # (test_newids.py copies into the same server)
    archive = seed.write_archive(str(tmp_path / "export.zip"), tag=secrets.token_hex(4), suffix=suffix)
    keys = {"app_id": STRICT_APP_ID, "master_key": MASTER_KEY}
    with pytest.raises(CopyRefused) as info:   # every loss accepted but new objectIds (all includes it)
        cql.copy(archive, strict, target_options=keys, accept=[n for n in cql.transfer.LOSSES if n != "new-ids"],
                 rename={"_File": f"Files{suffix}"})
    text = info.value.message
    assert text.startswith("nothing was copied")
    assert "does not accept objectIds chosen by the client" in text and "allowCustomObjectId" in text
    assert "[--accept new-ids to go on]" in text and "cqlSourceId" in text
    # accepted losses are not repeated as reasons
    assert "maintenance" not in text and "password" not in text
    headers = {"X-Parse-Application-Id": STRICT_APP_ID, "X-Parse-Master-Key": MASTER_KEY}
    classes = requests.get(strict + "/schemas", headers=headers, timeout=30).json()["results"]
    assert not [c["className"] for c in classes if c["className"].endswith(suffix)]
    users = requests.get(strict + "/classes/_User", headers=headers, timeout=30,
                         params={"where": json.dumps({"username": {"$regex": f"{suffix}$"}})}).json()["results"]
    assert users == []
    # the command line says the same, with every reason and the flag for each
    env = dict(CQL_TARGET_APP_ID=STRICT_APP_ID, CQL_TARGET_MASTER_KEY=MASTER_KEY)
    r = run_cql(tmp_path, "copy", "export.zip", strict, **env)
    assert r.returncode == 1
    assert "allowCustomObjectId" in r.stderr and "--accept timestamps" in r.stderr and "--accept new-ids" in r.stderr
    assert "--rename _File=NewName" in r.stderr and "--accept passwords" in r.stderr
    assert MASTER_KEY not in r.stderr + r.stdout


def test_malformed_export_line_is_reported_with_file_and_line(tmp_path):
    tag = secrets.token_hex(4)
    data = seed.app(tag)
    seed.write_archive(str(tmp_path / "export.tar.gz"), data)
    good = run_cql(tmp_path, "copy", "export.tar.gz", "ok.db")
    assert good.returncode == 0, good.stderr
    # a truncated line (an export cut short) in the middle of a class
    lines = [json.dumps(o) for o in data["Post"]]
    lines[1] = lines[1][:40]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Author.jsonl").write_text("".join(json.dumps(o) + "\n" for o in data["Author"]))
    (tmp_path / "bad" / "Post.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "bad" / "notes.txt").write_text("not data\n")
    r = run_cql(tmp_path, "copy", "bad/Author.jsonl", "author.db")
    assert r.returncode == 0, r.stderr
    r = run_cql(tmp_path, "copy", "bad", "authors.db", "--class", "Author")
    assert r.returncode == 0 and "note: files not read (names not recognised): notes.txt" in r.stdout, r.stdout
    r = run_cql(tmp_path, "copy", "bad", "bad.db")
    assert r.returncode == 1
    assert "bad/Post.jsonl:2:41: malformed JSON: Expecting property name" in r.stderr, r.stderr
    # checked before anything was written: nothing partial to report
    conn = cql.connect(str(tmp_path / "bad.db"))
    try:
        assert conn.schema() == {}
    finally:
        conn.close()
    # typed CSV: the cell, its line and its column type
    (tmp_path / "Score.csv").write_text("string,string,int,geopoint\nobjectId,name,score,where\n"
                                        "s1,a,1,116 39\ns2,b,x,1 2\n")
    r = run_cql(tmp_path, "copy", "Score.csv", "csv.db")
    assert r.returncode == 1 and "Score.csv:4: field score (int): 'x' is not an integer" in r.stderr, r.stderr
    # bytes that are not UTF-8, inside an archive
    import tarfile
    import io
    with tarfile.open(tmp_path / "latin.tar.gz", "w:gz") as t:
        raw = b'{"objectId": "a1", "t": "ok"}\n{"objectId": "a2", "t": "caf\xe9"}\n'
        info = tarfile.TarInfo("dump/Note.jsonl")
        info.size = len(raw)
        t.addfile(info, io.BytesIO(raw))
    r = run_cql(tmp_path, "copy", "latin.tar.gz", "latin.db")
    assert r.returncode == 1 and "latin.tar.gz:dump/Note.jsonl:2: not UTF-8 text (byte 0xe9 at column 29)" in r.stderr, r.stderr


def test_export_target_round_trip(tmp_path, hops):
    """An embedded file copied out as an export (folder and archive) and back."""
    for out in ("out/", "out.zip", "out.tar.gz"):
        report = cql.copy(hops["first"], str(tmp_path / out))
        assert report.ok, str(report)
        again = cql.copy(str(tmp_path / out.rstrip("/")), str(tmp_path / f"{out.strip('/.')}.db"))
        assert again.ok and again.verify.clean, str(again)
        assert cql.verify(hops["archive"], str(tmp_path / f"{out.strip('/.')}.db")).clean


def test_progress_bar_per_class_on_a_terminal(tmp_path):
    """On a terminal, each class gets a bar (objects, rate, ETA) that ends as
    a one-line summary; the report follows."""
    import pexpect
    with open(tmp_path / "Big.jsonl", "w") as f:
        for i in range(30000):
            f.write(json.dumps({"objectId": f"o{i:08d}", "i": i}) + "\n")
    child = pexpect.spawn(sys.executable, ["-m", "cql", "copy", "Big.jsonl", "big.db"], cwd=str(tmp_path),
                          env=cql_env(tmp_path, TERM="xterm"), encoding="utf-8", timeout=120,
                          dimensions=(24, 120))
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert "Big  [" in out and "/30,000" in out and "/s" in out  # the bar while it runs
    assert "Big: 30000 new, 0 replaced, 0 unchanged (" in out      # its summary line
    assert "verify: clean" in out and "copy: done" in out


def test_a_lost_batch_answer_is_retried_without_duplicates(server, tmp_path):
    """The server applies a /batch but its answer is lost (502 from a proxy):
    the chunk is retried whole, reading what exists first; nothing is doubled."""
    from localhttp import LocalServer, json_answer
    cls = f"Lost{secrets.token_hex(3)}"
    with open(tmp_path / f"{cls}.jsonl", "w") as f:
        for i in range(120):
            f.write(json.dumps({"objectId": f"l{i:05d}", "i": i}) + "\n")
    batches = []

    def answer(req):
        if req.method == "POST" and req.path.endswith("/batch"):
            batches.append(len(req.json()["requests"]))
            if len(batches) == 2:
                status, headers, body = proxy._forward(req)   # applied upstream...
                assert status == 200
                return json_answer(502, {"code": 502, "error": "bad gateway"})   # ...answer lost
        return None

    with LocalServer(answer, upstream=server.root) as proxy:
        report = cql.copy(str(tmp_path / f"{cls}.jsonl"), proxy.url + "/parse", target_options=target_keys(),
                          workers=1)
    assert report.ok, str(report)
    (c,) = report.classes
    # the retry of the second chunk found its 50 objects already there
    assert batches == [50, 50, 20] and (c.written.inserted, c.written.unchanged) == (70, 50), str(report)
    answer_ = parse_get(server, f"/classes/{cls}", where=json.dumps({"i": {"$gte": 0}}), count=1, limit=0)
    assert answer_["count"] == 120


def test_copy_into_a_file_killed_half_way_then_run_again(tmp_path):
    """The same for an embedded target: each chunk is one transaction, so a
    SIGKILL leaves whole chunks; the re-run completes and verifies clean."""
    import sqlite3
    n = 60000
    with open(tmp_path / "Row.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps({"objectId": f"r{i:07d}", "i": i, "s": "行" * (i % 9)}) + "\n")

    def in_file():
        if not (tmp_path / "rows.db").exists():
            return 0
        try:
            with sqlite3.connect(f"file:{tmp_path / 'rows.db'}?mode=ro", uri=True, timeout=1) as db:
                return db.execute("select count(*) from objects").fetchone()[0]
        except sqlite3.Error:
            return 0

    kill_copy_when(tmp_path, ["copy", "Row.jsonl", "rows.db"], {}, in_file, 5000)
    with sqlite3.connect(str(tmp_path / "rows.db")) as db:  # what was committed when it died
        count = db.execute("select count(*) from objects").fetchone()[0]
    assert 5000 <= count < n and count % 5000 == 0   # whole chunks only
    r = run_cql(tmp_path, "copy", "Row.jsonl", "rows.db")
    assert r.returncode == 0 and "verify: clean" in r.stdout, r.stdout + r.stderr
    assert f"Row: {n - count} new, 0 replaced, {count} unchanged" in r.stdout


def test_shell_copies_into_the_open_server(server, tmp_path):
    """.copy in the shell: the open connection is the target; the keys of the
    other side and the maintenance key come from the environment."""
    cls = f"Shell{secrets.token_hex(3)}"
    (tmp_path / f"{cls}.jsonl").write_text("".join(
        json.dumps({"objectId": f"s{i}", "n": i, "createdAt": "2020-01-01T00:00:00.000Z",
                    "updatedAt": "2020-01-02T00:00:00.000Z"}) + "\n" for i in range(3)))
    r = run_cql(tmp_path, "--format", "jsonl", "-e", f".copy {cls}.jsonl", "-e",
                f"select count(*), n, createdAt from {cls} where n = 2", server.parse_url,
                CQL_APP_ID=APP_ID, CQL_MASTER_KEY=MASTER_KEY, CQL_MAINTENANCE_KEY=MAINTENANCE_KEY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: clean" in r.stdout and "copy: done" in r.stdout
    row = json.loads(r.stdout.strip().splitlines()[-1])
    assert row["n"] == 2 and row["createdAt"] == "2020-01-01T00:00:00.000Z"
    r = run_cql(tmp_path, "-e", f".verify {cls}.jsonl --class {cls}", server.parse_url,
                CQL_APP_ID=APP_ID, CQL_MASTER_KEY=MASTER_KEY)
    assert r.returncode == 0 and "verify: clean" in r.stdout, r.stdout + r.stderr
