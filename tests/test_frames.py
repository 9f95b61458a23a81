"""Result.to_pandas() / to_arrow(): DataFrame-friendly columns for every value type."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import pandas as pd
import pyarrow as pa
import pytest

import cql


@pytest.fixture(scope="module")
def result():
    conn = cql.connect()
    conn.execute("insert into T(n, s, d, p, g, f, a, o, b, by) values (1, 'x', date('2020-01-02T03:04:05.678Z'), "
                 "pointer('_User', 'u1'), geopoint(116.4, 39.9), file('f1'), [1, 2], {k: 'v'}, true, base64('aGk='))")
    conn.execute("insert into T(n, s) values (2.5, 'y')")
    conn.execute("insert into T(s) values ('z')")
    yield conn.execute("select * from T order by s")
    conn.close()


def test_to_pandas_maps_each_type(result):
    df = result.to_pandas()
    assert list(df.columns) == ["objectId", "a", "b", "by", "d", "f", "g.latitude", "g.longitude", "n", "o", "p",
                                "s", "createdAt", "updatedAt"]
    assert len(df) == 3 and list(df["s"]) == ["x", "y", "z"]
    assert str(df["d"].dtype).startswith("datetime64") and str(df["d"].dt.tz) == "UTC"
    assert df["d"][0] == pd.Timestamp("2020-01-02T03:04:05.678Z") and pd.isna(df["d"][1])
    assert str(df["createdAt"].dtype).startswith("datetime64") and df["createdAt"][0].tzinfo is not None
    assert df["g.latitude"][0] == 39.9 and df["g.longitude"][0] == 116.4 and pd.isna(df["g.latitude"][1])
    assert df["p"][0] == "u1" and df["f"][0] == "f1"
    assert df["a"][0] == [1, 2] and df["o"][0] == {"k": "v"} and df["by"][0] == b"hi"
    assert list(df["n"][:2]) == [1.0, 2.5] and pd.isna(df["n"][2])
    assert list(df["objectId"]) == [r["objectId"] for r in result.results]


def test_to_pandas_agrees_with_the_decoded_rows(result):
    df = result.to_pandas()
    for row, (_, frame_row) in zip(result.results, df.iterrows()):
        assert frame_row["createdAt"].to_pydatetime() == row["createdAt"]
        assert frame_row["s"] == row["s"]


def test_to_arrow(result):
    table = result.to_arrow()
    assert table.schema.field("d").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("g.latitude").type == pa.float64()
    assert table.column("a").to_pylist() == ["[1, 2]", None, None]
    assert table.column("d").to_pylist()[0] == datetime(2020, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert table.column("by").to_pylist()[0] == b"hi" and table.num_rows == 3


def test_count_write_and_empty_results():
    conn = cql.connect()
    assert conn.execute("select count(*) from Nothing").to_pandas().to_dict("list") == {"count": [0]}
    inserted = conn.execute("insert into W(a) values (1), (2)").to_pandas()
    assert list(inserted.columns) == ["objectId", "createdAt"] and len(inserted) == 2
    assert conn.execute("select * from Nothing").to_pandas().empty
    assert conn.execute("delete from W").to_arrow().num_columns == 0


def test_mixed_columns_keep_python_values():
    conn = cql.connect(strict_types=False)
    conn.execute("insert into M(v) values (1), ('a'), (date('2020-01-01T00:00:00Z'))")
    df = conn.execute("select * from M order by createdAt").to_pandas()
    assert df["v"].dtype == object and set(map(type, df["v"])) == {int, str, datetime}


def test_a_missing_extra_is_a_clear_error(result, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(cql.CQLError) as info:
        result.to_pandas()
    assert "pip install 'cql[pandas]'" in info.value.message
    with pytest.raises(cql.CQLError) as info:
        result.to_arrow()
    assert "pip install 'cql[arrow]'" in info.value.message
