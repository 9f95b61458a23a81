"""A small LeanCloud app written as a LeanCloud-style data export archive
(one JSON Lines file per class, relation rows in _Join:key:Class files, a
schema.json), with every type, pointers across classes, relations, ACLs with
users and roles, _User rows with LeanCloud password hashes, _File rows and
unicode. Built by the tests themselves; nothing here is a fixture file."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from typing import Dict, List

SALT = "h60d8x797d3oa0naxybxxv9bn7xpt2yiowz68mpiwou7gwr2"


def leancloud_password(password: str, salt: str) -> str:
    """LeanCloud's export hash: SHA-512(salt + password), re-hashed 512 times, base64."""
    h = hashlib.sha512((salt + password).encode()).digest()
    for _ in range(512):
        h = hashlib.sha512(h).digest()
    return base64.b64encode(h).decode()


def _id(n: int, tag: str = "5f000000") -> str:
    return f"{tag}{n:016x}"


def date(iso: str) -> dict:
    return {"__type": "Date", "iso": iso}


def pointer(cls: str, oid: str) -> dict:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


class Ids:
    """The objectIds of one seeded app; ``tag`` (8 hex digits) starts every
    objectId, so several apps can share a server."""

    def __init__(self, tag: str = "5f000000"):
        self.tag = tag
        self.USERS = [_id(1, tag), _id(2, tag), _id(3, tag)]
        self.ROLE = _id(10, tag)
        self.FILES = [_id(20, tag), _id(21, tag)]
        self.AUTHORS = [_id(30, tag), _id(31, tag)]
        self.POSTS = [_id(40, tag), _id(41, tag), _id(42, tag)]
        self.COMMENTS = [_id(50, tag), _id(51, tag)]


def app(tag: str = "5f000000", suffix: str = "") -> Dict[str, List[dict]]:
    """{class: objects} of the seeded app; ``suffix`` ends the names of its own
    classes (Author, Post, Comment), usernames and the role name."""
    ids = Ids(tag)
    USERS, ROLE, FILES, AUTHORS, POSTS, COMMENTS = (ids.USERS, ids.ROLE, ids.FILES, ids.AUTHORS, ids.POSTS,
                                                    ids.COMMENTS)
    A, P, C = f"Author{suffix}", f"Post{suffix}", f"Comment{suffix}"
    t0, t1 = "2019-04-29T07:46:41.687Z", "2020-11-04T03:29:17.441Z"
    users = [
        {"objectId": USERS[0], "username": f"lu.xun{suffix}", "email": f"luxun{suffix}@example.com", "emailVerified": True,
         "mobilePhoneNumber": "+8613800000000", "mobilePhoneVerified": False,
         "password": leancloud_password("password", SALT), "salt": SALT,
         "sessionToken": "lc-session-0123456789abcdef",
         "ACL": {"*": {"read": True}, USERS[0]: {"read": True, "write": True}},
         "createdAt": t0, "updatedAt": t1},
        {"objectId": USERS[1], "username": f"张爱玲{suffix}", "password": leancloud_password("秘密", "s2"), "salt": "s2",
         "ACL": {"*": {"read": True, "write": False}}, "createdAt": t0, "updatedAt": t0},
        {"objectId": USERS[2], "username": f"wechat_user{suffix}",
         "authData": {"weixin": {"openid": "oABC123", "access_token": "tok", "expires_in": 7200}},
         "password": leancloud_password("x", "s3"), "salt": "s3",
         "ACL": {USERS[2]: {"read": True, "write": True}}, "createdAt": t1, "updatedAt": t1},
    ]
    roles = [{"objectId": ROLE, "name": f"Admin{suffix}", "ACL": {"*": {"read": True}, f"role:Admin{suffix}": {"write": True}},
              "users": {"__type": "Relation", "className": "_User"},
              "createdAt": t0, "updatedAt": t0}]
    files = [
        {"objectId": FILES[0], "name": "avatar.png", "url": "https://lc-file.example.com/abc/avatar.png",
         "key": "abc/avatar.png", "mime_type": "image/png", "provider": "qiniu",
         "metaData": {"size": 2048, "owner": USERS[0]}, "ACL": {"*": {"read": True}},
         "createdAt": t0, "updatedAt": t0},
        {"objectId": FILES[1], "name": "说明.txt", "url": "https://lc-file.example.com/def/readme.txt",
         "key": "def/readme.txt", "mime_type": "text/plain", "metaData": {"size": 12},
         "createdAt": t1, "updatedAt": t1},
    ]
    authors = [
        {"objectId": AUTHORS[0], "name": "鲁迅 🖋", "born": date("1881-09-25T00:00:00.000Z"),
         "location": {"__type": "GeoPoint", "latitude": 31.2304, "longitude": 121.4737},
         "avatar": {"__type": "File", "id": FILES[0], "name": "avatar.png",
                    "url": "https://lc-file.example.com/abc/avatar.png"},
         "tags": ["作家", "essay", 1, True, {"nested": [1, 2]}], "meta": {"a": {"b": None}, "n": 1.5},
         "active": True, "rating": 4.75, "books": 24, "big": 9007199254740991,
         "signature": {"__type": "Bytes", "base64": base64.b64encode("鲁迅".encode()).decode()},
         "user": pointer("_User", USERS[0]),
         "ACL": {"*": {"read": True}, f"role:Admin{suffix}": {"read": True, "write": True},
                 USERS[0]: {"read": True, "write": True}},
         "createdAt": t0, "updatedAt": t1},
        {"objectId": AUTHORS[1], "name": "Eileen Chang", "born": date("1920-09-30T00:00:00.000Z"),
         "tags": [], "meta": {}, "active": False, "rating": 5, "books": 0,
         "user": pointer("_User", USERS[1]), "ACL": {}, "createdAt": t1, "updatedAt": t1},
    ]
    posts = [
        {"objectId": POSTS[0], "title": "狂人日记", "author": pointer(A, AUTHORS[0]),
         "published": date("1918-05-15T00:00:00.000Z"), "likes": {"__type": "Relation", "className": "_User"},
         "views": 100, "subtitle": None, "ACL": {"*": {"read": True}}, "createdAt": t0, "updatedAt": t1},
        {"objectId": POSTS[1], "title": "阿Q正传", "author": pointer(A, AUTHORS[0]),
         "published": date("1921-12-04T00:00:00.000Z"), "views": 0, "createdAt": t0, "updatedAt": t0},
        {"objectId": POSTS[2], "title": "Love in a Fallen City", "author": pointer(A, AUTHORS[1]),
         "attachments": [{"__type": "File", "id": FILES[1], "name": "说明.txt",
                          "url": "https://lc-file.example.com/def/readme.txt"}],
         "views": 7, "createdAt": t1, "updatedAt": t1},
    ]
    comments = [
        {"objectId": COMMENTS[0], "post": pointer(P, POSTS[0]), "user": pointer("_User", USERS[1]),
         "text": "好！\nsecond line, \"quoted\", comma", "createdAt": t1, "updatedAt": t1},
        {"objectId": COMMENTS[1], "post": pointer(P, POSTS[2]), "user": pointer("_User", USERS[0]),
         "text": "", "ACL": {USERS[0]: {"read": True, "write": True}, f"role:Admin{suffix}": {"read": True}},
         "createdAt": t1, "updatedAt": t1},
    ]
    return {"_User": users, "_Role": roles, "_File": files, A: authors, P: posts, C: comments}


def relations(tag: str = "5f000000", suffix: str = "") -> Dict[tuple, list]:
    ids = Ids(tag)
    return {(f"Post{suffix}", "likes"): [(ids.POSTS[0], ids.USERS[0]), (ids.POSTS[0], ids.USERS[1]),
                                         (ids.POSTS[1], ids.USERS[2])],
            ("_Role", "users"): [(ids.ROLE, ids.USERS[0])]}


def schema(suffix: str = "") -> dict:
    return {"results": [
        {"className": f"Post{suffix}", "fields": {"likes": {"type": "Relation", "targetClass": "_User"},
                                                  "author": {"type": "Pointer", "targetClass": f"Author{suffix}"},
                                                  "subtitle": {"type": "String"}}},
        {"className": "_Role", "fields": {"users": {"type": "Relation", "targetClass": "_User"},
                                          "roles": {"type": "Relation", "targetClass": "_Role"}}},
    ]}


def write_archive(path: str, data: Dict[str, List[dict]] = None, rels=None, schema_doc=None,
                  top: str = "export-20261201/", tag: str = "5f000000", suffix: str = "") -> str:
    """Write ``data`` (default: the seeded app) as a .tar.gz export (or .zip
    by the name), relation rows as _Join files, schema.json; returns path."""
    data = app(tag, suffix) if data is None else data
    rels = relations(tag, suffix) if rels is None else rels
    members = {}
    for cls, objects in data.items():
        members[f"{top}{cls}.jsonl"] = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)
    for (cls, key), rows in rels.items():
        members[f"{top}_Join:{key}:{cls}.jsonl"] = "".join(
            json.dumps({"owningId": o, "relatedId": r}) + "\n" for o, r in rows)
    members[f"{top}schema.json"] = json.dumps(schema(suffix) if schema_doc is None else schema_doc)
    if path.endswith(".zip"):
        import zipfile
        with zipfile.ZipFile(path, "w") as z:
            for name, text in members.items():
                z.writestr(name, text)
        return path
    with tarfile.open(path, "w:gz") as t:
        for name, text in members.items():
            raw = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            t.addfile(info, io.BytesIO(raw))
    return path
