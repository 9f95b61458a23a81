"""LeanCloud's data file formats: JSON Lines, JSON ({"results"} too), typed
CSV (types row, names row), relation rows; every error at its file and line."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from cql.transfer import formats
from cql.transfer.exports import classify
from cql.transfer.formats import FormatError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# LeanCloud's own examples (dashboard guide, "数据导入"), plus the other types
TYPED = ("geopoint,string,int,string,double,date,boolean,array,object,pointer:Player,long,number,file\n"
         "location,name,age,address,account,createdAt,vip,tags,meta,player,big,ratio,photo\n"
         "116 39,张三,33,北京,300.0,2014-05-07T19:45:50.701Z,true,\"[1,\"\"a\"\"]\",\"{\"\"k\"\": null}\","
         "mQtjuMF5xk,9007199254740993,2,https://f.example.com/a/b.png\n"
         "121.4737 31.2304,\"王五, Jr.\",21,\"上海\n浦东\",1000.5,2012-04-22T09:21:35.701Z,false,[],{},,,-1.5e3,\n")


def rows(text: str, name: str = "t.csv"):
    return list(formats.read_objects(io.StringIO(text, newline=""), name))


def test_typed_csv_every_type():
    (l1, first), (l2, second) = rows(TYPED)
    assert (l1, l2) == (3, 5)  # the line a row starts on (a value spans two lines)
    assert first == {
        "location": {"__type": "GeoPoint", "latitude": 39.0, "longitude": 116.0}, "name": "张三", "age": 33,
        "address": "北京", "account": 300.0,
        "createdAt": {"__type": "Date", "iso": "2014-05-07T19:45:50.701Z"}, "vip": True, "tags": [1, "a"],
        "meta": {"k": None}, "player": {"__type": "Pointer", "className": "Player", "objectId": "mQtjuMF5xk"},
        "big": 9007199254740993, "ratio": 2,
        "photo": {"__type": "File", "url": "https://f.example.com/a/b.png", "name": "b.png"}}
    assert second["name"] == "王五, Jr." and second["address"] == "上海\n浦东"
    assert second["ratio"] == -1500.0 and second["tags"] == [] and second["meta"] == {}
    assert "player" not in second and "big" not in second  # an empty cell is a field left out


@pytest.mark.parametrize("text,message", [
    ("int\nn\nx\n", "t.csv:3: field n (int): 'x' is not an integer"),
    ("geopoint\ng\n116\n", "t.csv:3: field g (geopoint): '116' is not 'longitude latitude'"),
    ("boolean\nb\nmaybe\n", "t.csv:3: field b (boolean): 'maybe' is not a boolean"),
    ("date\nd\n2014-13-01\n", "t.csv:3: field d (date): not a valid date"),
    ("array\na\n{}\n", "t.csv:3: field a (array): '{}' is not a JSON array"),
    ("int,string\nn\n", "t.csv:2: 1 field names but 2 types in row 1"),
    ("int\n", "t.csv:2: the row of field names"),
    ("double\nx\nNaN\n", "t.csv:3: field x (double): 'NaN' is not a number"),
    ("double\nx\n1e999\n", "t.csv:3: field x (double): '1e999' is not a number JSON can hold"),
])
def test_typed_csv_errors_name_the_line_and_field(text, message):
    with pytest.raises(FormatError) as info:
        rows(text)
    assert message in info.value.message


def test_typed_csv_round_trip():
    objects = [obj for _, obj in rows(TYPED)]
    fields = formats.schema_fields(objects)
    out = io.StringIO()
    assert formats.write_typed_csv(objects, fields, out) == 2
    types, names = out.getvalue().splitlines()[:2]
    assert names.split(",")[:4] == ["account", "address", "age", "big"]
    assert types.split(",")[:4] == ["number", "string", "number", "number"]
    back = [obj for _, obj in rows(out.getvalue())]
    assert back == objects


def test_plain_csv_is_read_by_its_header_line():
    (_, obj), = rows("name,score,tags,raw\nbob,1.5,\"[1,2]\",01x\n")
    assert obj == {"name": "bob", "score": 1.5, "tags": [1, 2], "raw": "01x"}


def test_json_forms():
    doc = {"results": [{"objectId": "a", "n": 1}, {"objectId": "b"}]}
    for text in (json.dumps(doc), json.dumps(doc, indent=2), json.dumps(doc["results"]),
                 "\n".join(json.dumps(o) for o in doc["results"]) + "\n"):
        assert [o for _, o in formats.read_text(text, "x")] == doc["results"]
    # a JSON Lines object with a field named results is not a document
    line = '{"results": [1], "objectId": "z"}\n'
    assert [o for _, o in formats.read_text(line, "x")] == [{"results": [1], "objectId": "z"}]
    with pytest.raises(FormatError) as info:
        list(formats.read_text('[{"a": 1}, 2]', "x.json"))
    assert "expected a JSON array of objects; item 2 is a int" in info.value.message
    with pytest.raises(FormatError) as info:
        list(formats.read_jsonl(io.StringIO('{"a": 1}\n\n{"a": NaN}\n'), "x.jsonl"))
    assert info.value.message == "x.jsonl:3:1: malformed JSON: NaN is not a number JSON (or CQL) can hold"


def test_relation_rows():
    assert list(formats.read_relations(io.StringIO("dMEbKFJiQo,19rUj9I0cy\nmQtjuMF5xk,xPVrHL0W4n\n"), "r.csv")) \
        == [(1, "dMEbKFJiQo", "19rUj9I0cy"), (2, "mQtjuMF5xk", "xPVrHL0W4n")]
    assert list(formats.read_relations(io.StringIO("owningId,relatedId\na,b\n"), "r.csv")) == [(2, "a", "b")]
    text = '{"owningId": "a", "relatedId": "b"}\n{"owningId": "a"}\n'
    with pytest.raises(FormatError) as info:
        list(formats.read_relations(io.StringIO(text), "_Join:likes:Post.jsonl"))
    assert info.value.message.startswith("_Join:likes:Post.jsonl:2: a relation row needs")


def test_recognised_file_names():
    assert classify("export/Todo.jsonl") == ("objects", ("Todo",))
    assert classify("_User.0.jsonl") == ("objects", ("_User",))
    assert classify("a/b/Post.csv") == ("objects", ("Post",))
    assert classify("_Join:likes:Post.jsonl") == ("relation", ("Post", "likes"))
    assert classify("dump/schema.json") == ("schema", ())
    assert classify("README.txt") is None and classify("my-class.jsonl") is None


def test_shell_import_reads_typed_csv(tmp_path):
    (tmp_path / "p.csv").write_text(TYPED, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONIOENCODING="utf-8")
    r = subprocess.run([sys.executable, "-m", "cql", "--format", "jsonl", "-e", ".import p.csv P",
                        "-e", "select * from P where player = pointer('Player', 'mQtjuMF5xk')", "x.db"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (row,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert row["location"] == {"__type": "GeoPoint", "latitude": 39.0, "longitude": 116.0}
    assert row["name"] == "张三" and row["age"] == 33
