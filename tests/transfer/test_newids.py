"""cql copy into a Parse Server that assigns its own objectIds (the test
server's strict process: no allowCustomObjectId, no maintenance key), with
``--accept new-ids``: the seeded app (plus a pointer cycle, pointers nested in
arrays and objects, a pointer within one class) arrives with every Pointer,
relation row and ACL user entry rewritten to the new ids, each object marked
with its source objectId (cqlSourceId); verify pairs objects through it; a
copy SIGKILLed half-way and run again duplicates nothing; a second run changes
nothing; without the flag the copy still stops before writing."""
from __future__ import annotations

import json
import os
import secrets
import sys

import pytest
import requests

import cql
from cql.transfer import CopyRefused

sys.path.insert(0, os.path.dirname(__file__))
import seed  # noqa: E402
from test_copy import PARSE_LOSSES, kill_copy_when, run_cql  # noqa: E402
from testserver import MASTER_KEY, STRICT_APP_ID  # noqa: E402

NEW_IDS = PARSE_LOSSES + ["timestamps", "new-ids"]   # what the strict server cannot keep
KEYS = {"app_id": STRICT_APP_ID, "master_key": MASTER_KEY}
ENV = dict(CQL_TARGET_APP_ID=STRICT_APP_ID, CQL_TARGET_MASTER_KEY=MASTER_KEY)
HEADERS = {"X-Parse-Application-Id": STRICT_APP_ID, "X-Parse-Master-Key": MASTER_KEY}


def get(url, path, **params):
    r = requests.get(url + path, headers=HEADERS, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def by_source(url, cls):
    """{source objectId: target object} of a class on the strict server."""
    objs = get(url, f"/classes/{cls}", limit=1000)["results"]
    return {o["cqlSourceId"]: o for o in objs if "cqlSourceId" in o}


def linked_app(tag, suffix):
    """The seeded app plus a pointer cycle (Author -> Post -> Author), pointers
    nested in an array and an object, and a pointer within one class."""
    data = seed.app(tag, suffix)
    ids = seed.Ids(tag)
    A, P, C = f"Author{suffix}", f"Post{suffix}", f"Comment{suffix}"
    data[A][0]["latest"] = seed.pointer(P, ids.POSTS[1])
    data[P][2]["related"] = [seed.pointer(P, ids.POSTS[0]), {"by": seed.pointer(A, ids.AUTHORS[0]), "n": 1}]
    data[C][1]["replyTo"] = seed.pointer(C, ids.COMMENTS[0])
    data[C][0]["ghost"] = seed.pointer(A, f"{tag}ffffffffffffffff")   # in no export: kept as it is
    data["_User"][0]["ACL"][ids.USERS[2]] = {"read": True}   # a user created after this one
    return data


@pytest.fixture(scope="module")
def copied(server, tmp_path_factory):
    d = tmp_path_factory.mktemp("newids")
    tag, suffix = secrets.token_hex(4), f"N{secrets.token_hex(2)}"
    data = linked_app(tag, suffix)
    archive = seed.write_archive(str(d / "export.tar.gz"), data, seed.relations(tag, suffix))
    strict = server.start_strict()
    rename = {"_File": f"LeanCloudFile{suffix}"}
    report = cql.copy(archive, strict, target_options=KEYS, accept=NEW_IDS, rename=rename)
    return dict(dir=d, tag=tag, suffix=suffix, data=data, archive=archive, url=strict, rename=rename,
                report=report)


def test_copy_with_new_ids_verifies_clean(copied):
    report, data = copied["report"], copied["data"]
    assert report.ok, str(report)
    assert report.verify is not None and report.verify.clean, str(report.verify)
    assert sum(c.written.inserted for c in report.classes) == sum(len(v) for v in data.values()), str(report)
    assert sum(c.relation_count for c in report.verify.classes) == 4
    assert any("cqlSourceId" in n for n in report.notes), report.notes
    ghost = f"{copied['tag']}ffffffffffffffff"
    assert f"1 object named by pointers, relation rows or ACL entries is not on the target (missing in the " \
           f"source, or of a class not copied; e.g. Author{copied['suffix']} {ghost}): it keeps its source " \
           "objectId" in report.notes, report.notes


def test_every_object_has_a_new_id_and_its_source_id(copied):
    url, suffix = copied["url"], copied["suffix"]
    for cls, objects in copied["data"].items():
        name = copied["rename"].get(cls, cls)
        got = by_source(url, name)
        assert set(got) == {o["objectId"] for o in objects}, name
        assert not set(o["objectId"] for o in got.values()) & set(got), f"{name}: ids were kept"
    user = by_source(url, "_User")[seed.Ids(copied["tag"]).USERS[0]]
    assert user["username"] == f"lu.xun{suffix}" and "password" not in user and "salt" not in user


def test_pointers_relations_and_acls_name_the_new_ids(copied):
    url, suffix, ids = copied["url"], copied["suffix"], seed.Ids(copied["tag"])
    A, P, C = f"Author{suffix}", f"Post{suffix}", f"Comment{suffix}"
    authors, posts, users = by_source(url, A), by_source(url, P), by_source(url, "_User")
    comments, role = by_source(url, C), by_source(url, "_Role")[ids.ROLE]
    # include follows the rewritten pointers: Post -> Author and back (the cycle)
    first = get(url, f"/classes/{P}/{posts[ids.POSTS[0]]['objectId']}", include="author,author.latest")
    assert first["author"]["name"] == "鲁迅 🖋" and first["author"]["cqlSourceId"] == ids.AUTHORS[0]
    assert first["author"]["latest"]["title"] == "阿Q正传"
    assert first["author"]["latest"]["objectId"] == posts[ids.POSTS[1]]["objectId"]
    # nested pointers, in an array and in an object inside it; a pointer within one class
    related = posts[ids.POSTS[2]]["related"]
    assert related[0] == {"__type": "Pointer", "className": P, "objectId": posts[ids.POSTS[0]]["objectId"]}
    assert related[1]["by"]["objectId"] == authors[ids.AUTHORS[0]]["objectId"] and related[1]["n"] == 1
    assert comments[ids.COMMENTS[1]]["replyTo"]["objectId"] == comments[ids.COMMENTS[0]]["objectId"]
    assert comments[ids.COMMENTS[0]]["user"]["objectId"] == users[ids.USERS[1]]["objectId"]
    assert comments[ids.COMMENTS[0]]["ghost"]["objectId"] == f"{copied['tag']}ffffffffffffffff"
    # relation rows: Post.likes and the role's users
    likes = get(url, "/classes/_User", where=json.dumps({"$relatedTo": {
        "object": {"__type": "Pointer", "className": P, "objectId": posts[ids.POSTS[0]]["objectId"]},
        "key": "likes"}}))["results"]
    assert sorted(u["cqlSourceId"] for u in likes) == sorted(ids.USERS[:2])
    members = get(url, "/classes/_User", where=json.dumps({"$relatedTo": {
        "object": {"__type": "Pointer", "className": "_Role", "objectId": role["objectId"]},
        "key": "users"}}))["results"]
    assert [u["cqlSourceId"] for u in members] == [ids.USERS[0]]
    # ACL user entries: the user's new id; role entries by name, as they were
    new_user = users[ids.USERS[0]]["objectId"]
    assert authors[ids.AUTHORS[0]]["ACL"] == {"*": {"read": True}, f"role:Admin{suffix}": {"read": True, "write": True},
                                              new_user: {"read": True, "write": True}}
    assert comments[ids.COMMENTS[1]]["ACL"] == {new_user: {"read": True, "write": True},
                                                f"role:Admin{suffix}": {"read": True}}
    assert users[ids.USERS[0]]["ACL"] == {"*": {"read": True}, new_user: {"read": True, "write": True},
                                          users[ids.USERS[2]]["objectId"]: {"read": True}}


def test_second_run_changes_nothing_and_verify_pairs_by_source_id(copied, tmp_path):
    url = copied["url"]
    again = cql.copy(copied["archive"], url, target_options=KEYS, accept=NEW_IDS, rename=copied["rename"])
    assert again.ok, str(again)
    total = sum(len(v) for v in copied["data"].values())
    assert all(c.written.inserted == c.written.replaced == 0 for c in again.classes), str(again)
    assert sum(c.written.unchanged for c in again.classes) == total, str(again)
    # cql verify on the command line
    rename = [f"--rename={k}={v}" for k, v in copied["rename"].items()]
    accept = [f"--accept={','.join(NEW_IDS)}"]
    r = run_cql(tmp_path, "verify", copied["archive"], url, *accept, *rename, "--allow-extra", **ENV)
    assert r.returncode == 0 and "verify: clean" in r.stdout, r.stdout + r.stderr
    # without --accept new-ids, nothing pairs: every object is missing
    r = run_cql(tmp_path, "verify", copied["archive"], url, f"--accept={','.join(PARSE_LOSSES + ['timestamps'])}",
                *rename, "--allow-extra", **ENV)
    assert r.returncode == 1 and "missing on the target" in r.stdout, r.stdout + r.stderr


def test_a_changed_target_object_is_listed_with_both_ids_then_copied_again(copied, tmp_path):
    url, suffix, ids = copied["url"], copied["suffix"], seed.Ids(copied["tag"])
    P, A = f"Post{suffix}", f"Author{suffix}"
    post = by_source(url, P)[ids.POSTS[2]]
    author = by_source(url, A)[ids.AUTHORS[1]]
    r = requests.put(f"{url}/classes/{P}/{post['objectId']}", headers=HEADERS, timeout=30,
                     json={"related": [{"__type": "Pointer", "className": P, "objectId": post["objectId"]}]})
    assert r.status_code == 200, r.text
    check = cql.verify(copied["archive"], url, target_options=KEYS, accept=NEW_IDS, rename=copied["rename"],
                       allow_extra=True)
    assert not check.clean
    text = str(check)
    assert f"1 different: {ids.POSTS[2]} (target {post['objectId']})" in text, text
    assert f"{ids.POSTS[2]} (target {post['objectId']}) related:" in text, text
    # the copy puts it right (an update: the object keeps its new id), and verify is clean again
    again = cql.copy(copied["archive"], url, target_options=KEYS, accept=NEW_IDS, rename=copied["rename"])
    assert again.ok, str(again)
    (posts,) = [c for c in again.classes if c.name == P]
    assert (posts.written.inserted, posts.written.replaced) == (0, 1), str(again)
    after = by_source(url, P)[ids.POSTS[2]]
    assert after["objectId"] == post["objectId"]
    assert after["related"][1]["by"]["objectId"] == by_source(url, A)[ids.AUTHORS[0]]["objectId"]
    assert author["objectId"] == by_source(url, A)[ids.AUTHORS[1]]["objectId"]


def test_copy_killed_half_way_then_run_again_duplicates_nothing(server, tmp_path):
    """SIGKILL a copy while it creates objects, and the re-run while it sets
    their pointers; run again: every object exists once, every pointer names
    the new id, verify is clean; one more run changes nothing."""
    url = server.start_strict()
    cls = f"Ring{secrets.token_hex(3)}"
    n = 2000
    with open(tmp_path / f"{cls}.jsonl", "w") as f:
        for i in range(n):   # each points to the next: one cycle through the whole class
            f.write(json.dumps({"objectId": f"r{i:07d}", "i": i, "next": seed.pointer(cls, f"r{(i + 1) % n:07d}"),
                                "ACL": {"*": {"read": True}}}) + "\n")
    args = ["copy", f"{cls}.jsonl", url, "--accept", "timestamps,new-ids"]

    def on_server(where=None):
        # (a where: Parse Server on PostgreSQL estimates the count of a whole class)
        r = requests.get(f"{url}/classes/{cls}", headers=HEADERS, timeout=30,
                         params={"where": json.dumps(where or {"i": {"$gte": 0}}), "count": 1, "limit": 0})
        return r.json().get("count", 0) if r.status_code == 200 else 0

    def linked():   # objects whose pointer is set: only the second pass sets it
        return on_server({"next": {"$exists": True}})

    # killed in the first pass (creating objects), then in the second (setting pointers)
    count = kill_copy_when(tmp_path, [*args, "--workers", "2"], ENV, on_server, 300)
    assert 300 <= count < n and linked() == 0
    count = kill_copy_when(tmp_path, [*args, "--workers", "2"], ENV, linked, 300)
    assert 300 <= count < n and on_server() == n
    r = run_cql(tmp_path, *args, **ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: clean" in r.stdout and "copy: done" in r.stdout
    assert on_server() == n
    objs = []
    last = None
    while True:
        where = {"objectId": {"$gt": last}} if last else {}
        page = get(url, f"/classes/{cls}", where=json.dumps(where), order="objectId", limit=1000)["results"]
        objs += page
        if len(page) < 1000:
            break
        last = page[-1]["objectId"]
    by_src = {o["cqlSourceId"]: o for o in objs}
    assert len(by_src) == len(objs) == n   # one object per source object
    for o in objs:
        i = o["i"]
        assert o["next"]["objectId"] == by_src[f"r{(i + 1) % n:07d}"]["objectId"], o
    r = run_cql(tmp_path, *args, **ENV)
    assert r.returncode == 0 and f"0 new, 0 replaced, {n} unchanged" in r.stdout, r.stdout + r.stderr
    assert on_server() == n


def test_without_the_flag_it_still_stops_before_writing(server, tmp_path):
    url = server.start_strict()
    suffix = f"W{secrets.token_hex(2)}"
    archive = seed.write_archive(str(tmp_path / "export.zip"), tag=secrets.token_hex(4), suffix=suffix)
    with pytest.raises(CopyRefused) as info:
        cql.copy(archive, url, target_options=KEYS, accept=PARSE_LOSSES + ["timestamps"],
                 rename={"_File": f"Files{suffix}"})
    text = info.value.message
    assert text.startswith("nothing was copied") and "[--accept new-ids to go on]" in text
    assert "cqlSourceId" in text and "allowCustomObjectId" in text
    classes = [c["className"] for c in get(url, "/schemas")["results"]]
    assert not [c for c in classes if c.endswith(suffix)]
    assert get(url, "/classes/_User", where=json.dumps({"username": {"$regex": f"{suffix}$"}}))["results"] == []


def test_delta_export_on_top_updates_in_place(server, tmp_path):
    """A delta export copied on top with new ids: a changed object is updated
    (it keeps its new id, so pointers to it stay valid), a new one created, and
    a relation row of an owner that is not in the delta added to the owner
    found by cqlSourceId."""
    url = server.start_strict()
    tag, suffix = secrets.token_hex(4), f"E{secrets.token_hex(2)}"
    data, ids = seed.app(tag, suffix), seed.Ids(tag)
    post, author = f"Post{suffix}", f"Author{suffix}"
    likes = seed.relations(tag, suffix)[(post, "likes")]
    doc = {"results": [seed.schema(suffix)["results"][0]]}
    full = seed.write_archive(str(tmp_path / "full.tar.gz"),
                              {"_User": data["_User"], author: data[author], post: data[post]},
                              {(post, "likes"): likes[:1]}, doc)
    assert cql.copy(full, url, target_options=KEYS, accept=NEW_IDS).ok
    before = by_source(url, post)[ids.POSTS[1]]
    changed = dict(data[post][1], title="阿Q正传 (修订)", updatedAt="2026-01-05T08:00:00.123Z")
    new = {"objectId": f"{tag}00000000000000ff", "title": "new", "author": data[post][0]["author"]}
    delta = seed.write_archive(str(tmp_path / "delta.tar.gz"), {post: [changed, new]},
                               {(post, "likes"): [likes[1]]}, doc)   # owner: POSTS[0], not in the delta
    report = cql.copy(delta, url, target_options=KEYS, accept=NEW_IDS)
    assert report.ok, str(report)
    (c,) = report.classes
    assert (c.written.inserted, c.written.replaced, c.written.unchanged, c.relations_added) == (1, 1, 0, 1), str(report)
    after = by_source(url, post)
    assert after[ids.POSTS[1]]["objectId"] == before["objectId"] and after[ids.POSTS[1]]["title"] == "阿Q正传 (修订)"
    assert after[new["objectId"]]["author"]["objectId"] == by_source(url, author)[ids.AUTHORS[0]]["objectId"]
    whole = seed.write_archive(str(tmp_path / "whole.tar.gz"),
                               {"_User": data["_User"], author: data[author],
                                post: [data[post][0], changed, data[post][2], new]},
                               {(post, "likes"): likes[:2]}, doc)
    check = cql.verify(whole, url, target_options=KEYS, accept=NEW_IDS, classes=[post, author, "_User"],
                       where=f"objectId >= '{tag}' and objectId < '{tag}g'")
    assert check.clean, str(check)
