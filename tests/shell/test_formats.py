"""Output formats: readable cells, CJK alignment, machine formats parse back."""
import csv
import io
import json

from wcwidth import wcswidth

from cql.result import Result
from cql.shell import formats

OBJECTS = [
    {"objectId": "a1", "title": "买牛奶", "n": None, "score": 7, "createdAt": "2020-01-01T00:00:00.000Z",
     "loc": {"__type": "GeoPoint", "latitude": 39.9, "longitude": 116.4},
     "when": {"__type": "Date", "iso": "2021-02-03T04:05:06.007Z"}},
    {"objectId": "b2", "title": "abc", "tags": [1, 2, "x"], "ok": True, "score": 1234.5,
     "p": {"__type": "Pointer", "className": "Post", "objectId": "51e3a359"}},
]


def select():
    return Result("select", "Todo", OBJECTS)


def test_cells_render_types_readably():
    assert formats.display_cell({"__type": "Date", "iso": "2021-02-03T04:05:06.007Z"}) == "2021-02-03T04:05:06.007Z"
    assert formats.display_cell({"__type": "Pointer", "className": "Post", "objectId": "51e3"}) == "<Pointer(Post:51e3)>"
    assert formats.display_cell({"__type": "GeoPoint", "latitude": 39.9, "longitude": 116.4}) == "<GeoPoint(116.4, 39.9)>"
    assert formats.display_cell(None) == "<null>"
    assert formats.display_cell(True) == "true"
    assert formats.display_cell([1, "a"]) == '[1,"a"]'
    # whole unless a width is given (issue 13: no fixed 40-column cut)
    assert formats.display_cell(list(range(100))) == json.dumps(list(range(100)), separators=(",", ":"))
    long = formats.display_cell(list(range(100)), 40)
    assert long.endswith("…") and wcswidth(long) == 40


def test_table_aligns_cjk_by_display_width():
    lines = formats.render(select(), "table").splitlines()
    widths = {wcswidth(line) for line in lines}
    assert len(widths) == 1, lines
    assert any("买牛奶" in line for line in lines)


def test_missing_field_is_blank_and_null_is_marked():
    text = formats.render(select(), "vertical")
    assert "n: <null>" in text
    assert "1. row" in text and "2. row" in text


def test_json_is_the_rest_objects():
    assert json.loads(formats.render(select(), "json")) == OBJECTS
    count = Result("select", "Todo", [], count=7, count_only=True)
    assert json.loads(formats.render(count, "json")) == {"count": 7}
    both = Result("select", "Todo", OBJECTS[:1], count=7)
    assert json.loads(formats.render(both, "json")) == {"count": 7, "results": OBJECTS[:1]}


def test_jsonl_one_object_per_line():
    lines = formats.render(select(), "jsonl").splitlines()
    assert [json.loads(line) for line in lines] == OBJECTS


def test_csv_parses_back():
    rows = list(csv.DictReader(io.StringIO(formats.render(select(), "csv"))))
    assert rows[0]["title"] == "买牛奶" and rows[0]["n"] == "" and rows[0]["when"] == "2021-02-03T04:05:06.007Z"
    assert json.loads(rows[1]["tags"]) == [1, 2, "x"] and rows[1]["ok"] == "true"
    assert json.loads(rows[1]["p"])["className"] == "Post"


def test_markdown_escapes_pipes():
    r = Result("select", "T", [{"objectId": "x", "s": "a|b"}])
    text = formats.render(r, "markdown")
    assert "a\\|b" in text and text.splitlines()[1].startswith("|--")


def test_status_lines():
    assert formats.status_line(select()) == "2 rows"
    assert formats.status_line(Result("select", "T", [{"objectId": "x"}], truncated=True)).startswith("1 row; limit 100 reached")
    assert formats.status_line(Result("insert", "T", [{"objectId": "abc", "createdAt": "x"}])) == "1 object inserted (objectId abc)"
    assert formats.status_line(Result("update", "T", [{}, {}, {}])) == "3 objects updated"
    assert formats.status_line(Result("delete", "T", [], rowcount=2), 0.5) == "2 objects deleted; Time: 500.0 ms"
    assert formats.status_line(Result("select", "T", [], count=5, count_only=True)) == "count: 5"


def test_table_is_tabulates_psql_layout():
    """The hand-drawn table (no tabulate import on the -e path) matches tabulate."""
    from tabulate import tabulate
    r = select()
    cols, rows = formats.table_data(r)
    cells = [[formats.display_cell(v) for v in row] for row in rows]
    align = ["right" if num else "left" for num in formats.numeric_columns(rows, len(cols))]
    assert formats.render(r, "table") == tabulate(cells, headers=cols, tablefmt="psql", disable_numparse=True,
                                                  colalign=align)
    one = Result("select", "T", [{"objectId": "x"}])
    assert formats.render(one, "table") == tabulate([["x"]], headers=["objectId"], tablefmt="psql",
                                                     disable_numparse=True)


def test_numbers_are_right_aligned():
    lines = formats.render(select(), "table").splitlines()
    assert "|       7 |" in lines[3] and "|  1234.5 |" in lines[4]
