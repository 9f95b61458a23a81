"""Index keys: bytes order == value_key order, equal bytes == equal keys (keys.py)."""
import math

from hypothesis import given, settings, strategies as st

from cql.engine import keys
from cql.engine.values import plain_value_key

FAST = settings(max_examples=400, deadline=None)


def cmp(a, b):
    return (a > b) - (a < b)


scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2 ** 80), max_value=2 ** 80),
    st.integers(min_value=-(10 ** 120), max_value=10 ** 120),
    st.floats(allow_nan=False), st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0 ** 53, 1e300, -1e-300,
                                                 2.0 ** 63, -(2.0 ** 63), 5e-324]),
    st.text(), st.text(alphabet=st.sampled_from(["a", "b", "\x00", "\x01", "é", "\uffff", "\U0001f600",
                                                 "\ud800", "\udfff", "\ue000"])),
    st.builds(lambda iso: {"__type": "Date", "iso": iso}, st.sampled_from(
        ["2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.001Z", "1999-12-31T23:59:59.999Z",
         "2020-01-01T00:00:00Z", "2020-01-01"])),
    st.builds(lambda c, i: {"__type": "Pointer", "className": c, "objectId": i},
              st.sampled_from(["A", "B"]), st.sampled_from(["x", "y", ""])),
    st.builds(lambda a, b: {"__type": "GeoPoint", "latitude": a, "longitude": b},
              st.floats(-90, 90), st.floats(-180, 180)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["a", "b", "c", "__type"]), inner, max_size=3)), max_leaves=8)


@FAST
@given(values, values)
def test_bytes_order_is_value_key_order(a, b):
    ka, kb = plain_value_key(a), plain_value_key(b)
    assert cmp(keys.encode(ka), keys.encode(kb)) == cmp(ka, kb), (a, b)


@FAST
@given(values)
def test_value_bytes_is_the_encoded_value_key(v):
    assert keys.value_bytes(v) == keys.encode(plain_value_key(v))


# Tuples as value_key makes them (one type per position, numbers int or float),
# including prefixes of one another.
def _tuples(depth):
    elem = st.one_of(st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False), st.text(max_size=4),
                     st.booleans())
    if depth:
        elem = st.one_of(elem, _tuples(depth - 1))
    return st.lists(elem, max_size=3).map(tuple)


def _comparable(a, b):
    try:
        cmp(a, b)
        return True
    except TypeError:
        return False


@FAST
@given(_tuples(2), _tuples(2))
def test_bytes_order_is_tuple_order(a, b):
    if not _comparable(a, b) or _bool_meets_number(a, b):
        return
    assert cmp(keys.encode(a), keys.encode(b)) == cmp(a, b), (a, b)


def _bool_meets_number(a, b):
    """True == 1 in Python; value_key never puts a bool where a number may be."""
    for x, y in zip(a, b):
        if (x.__class__ is bool) != (y.__class__ is bool) and isinstance(x, (int, float)) \
                and isinstance(y, (int, float)):
            return True
        if x.__class__ is tuple and y.__class__ is tuple and _bool_meets_number(x, y):
            return True
        if x != y:
            return False
    return False


def test_equal_numbers_have_equal_keys_and_order_holds_at_the_edges():
    same = [(1, 1.0), (0, -0.0), (0, 0.0), (-3, -3.0), (2 ** 53, float(2 ** 53)), (10 ** 20, 1e20)]
    for a, b in same:
        if a == b:
            assert keys.value_bytes(a) == keys.value_bytes(b)
    ladder = [-math.inf, -(10 ** 400), -(2 ** 64), -1e19, -(2 ** 63), -1.5, -1, -0.5, -5e-324, 0,
              5e-324, 0.5, 1, 1.5, 2 ** 63 - 1, 2 ** 63, 1e19, 2 ** 64 + 1, 10 ** 400, math.inf]
    encoded = [keys.encode((x,)) for x in ladder]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)


def test_strings_order_by_code_point_with_nul_and_surrogates():
    ladder = ["", "\x00", "\x00\x00", "\x00a", "\x01", "a", "a\x00", "a\x00b", "a\x01", "ab", "\ud7ff",
              "\ud800", "\udfff", "\ue000", "\uffff", "\U00010000", "\U0010ffff"]
    encoded = [keys.encode((s,)) for s in ladder]
    assert encoded == sorted(encoded) and len(set(encoded)) == len(encoded)


def test_prefix_tuples_sort_first():
    assert keys.encode((5,)) < keys.encode((5, ())) < keys.encode((5, ((2, 1),)))
    assert keys.encode((3, "a")) < keys.encode((3, "a", 0)) < keys.encode((3, "a\x00"))
    assert keys.encode(()) == b"" == keys.ARRAY_MARK
    assert keys.ARRAY_MARK < keys.NULL_KEY < keys.value_bytes(-(10 ** 400))


def test_nan_has_no_key():
    import pytest
    with pytest.raises(ValueError):
        keys.encode((2, float("nan")))


def test_keys_of_arrays_cover_elements_the_whole_array_and_the_mark():
    got = set(keys.keys_of(["a", None, ["b"]], True))
    assert got == {keys.ARRAY_MARK, keys.NULL_KEY, keys.value_bytes("a"), keys.value_bytes(["b"]),
                   keys.value_bytes(["a", None, ["b"]])}
    assert set(keys.keys_of(None, False)) == {keys.NULL_KEY} == set(keys.keys_of(None, True))
    assert set(keys.keys_of([], True)) == {keys.ARRAY_MARK, keys.value_bytes([])}
