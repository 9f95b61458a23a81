"""Index keys as bytes: an encoding of ``value_key`` tuples whose byte order
(memcmp, SQLite's BLOB order) is the tuples' order.

Why generic: the persistent indexes (indexes.py) store these bytes in SQLite,
and the order they must keep is exactly the one ``values.value_key`` defines
(MongoDB's). The encoder knows nothing about that order; it encodes whatever
nested tuples of ints, floats, strings and bools ``value_key`` produces, so a
change of ``value_key`` flows into the indexes by itself. ``fingerprint()``
changes with it, and a file whose indexes were keyed under another fingerprint
rebuilds them (indexes.py).

Layout (one tag byte per element, each element's encoding prefix-free, so a
shorter tuple that is a prefix of a longer one sorts first):

- numbers: ints and floats share one encoding, ordered by value, with equal
  values (1, 1.0, -0.0, 0) encoded identically: the integer part (the floor)
  as a length-tagged big-endian magnitude (negatives complemented, so more
  bytes means smaller), then 0x00 when the number is whole, or 0x01 and the
  8 IEEE bytes of the fraction in [0, 1) (positive doubles sort as unsigned
  integers). -inf/+inf have tags of their own; NaN has no place (ValueError).
- strings: UTF-8 (lone surrogates kept, 'surrogatepass', which keeps code
  point order), 0x00 escaped as 0x00 0xFF, ended by 0x00.
- bools: one tag each; None: one tag (value_key does not produce it today).
- tuples: 0x80, the elements, 0x01. The outermost tuple is written without
  these two bytes (SQLite compares BLOBs by memcmp, then by length).
"""
from __future__ import annotations

import math
import struct
from functools import lru_cache
from typing import Any, Callable, Iterable, List

from .values import plain_value_key

__all__ = ["encode", "value_bytes", "fingerprint", "keys_of", "NULL_KEY", "ARRAY_MARK"]

_END = b"\x01"
_NONE = b"\x02"
_NEG_INF = b"\x05"
_NEG_HUGE = 0x06
_ZERO = 0x27      # integer part 0; negatives below, positives above
_SMALL = 0x20     # integer parts of up to 32 bytes get a tag of their own
_POS_HUGE = 0x48
_POS_INF = b"\x49"
_STR = b"\x60"
_FALSE = b"\x70"
_TRUE = b"\x71"
_TUPLE = b"\x80"
_WHOLE = b"\x00"
_FRACTION = b"\x01"
_pack_double = struct.Struct(">d").pack
_pack_u64 = struct.Struct(">Q").pack


def _int_part(n: int, out: List[bytes]) -> None:
    if n == 0:
        out.append(b"\x27")
        return
    if n > 0:
        size = (n.bit_length() + 7) // 8
        body = n.to_bytes(size, "big")
        if size <= _SMALL:
            out.append(bytes((_ZERO + size,)))
        else:
            out.append(bytes((_POS_HUGE,)) + _pack_u64(size))
        out.append(body)
        return
    m = -n
    size = (m.bit_length() + 7) // 8
    body = ((1 << (8 * size)) - 1 - m).to_bytes(size, "big")  # larger n, larger bytes
    if size <= _SMALL:
        out.append(bytes((_ZERO - size,)))
    else:
        out.append(bytes((_NEG_HUGE,)) + _pack_u64((1 << 64) - 1 - size))
    out.append(body)


def _number(x: Any, out: List[bytes]) -> None:
    if x.__class__ is float:
        if x != x:
            raise ValueError("NaN has no place in an index")
        if x == math.inf:
            out.append(_POS_INF)
            return
        if x == -math.inf:
            out.append(_NEG_INF)
            return
        whole = math.floor(x)
        frac = x - whole  # exact for doubles
        _int_part(whole, out)
        if frac:
            out.append(_FRACTION)
            out.append(_pack_double(frac))
        else:
            out.append(_WHOLE)
        return
    _int_part(int(x), out)
    out.append(_WHOLE)


def _string(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    if b"\x00" in data:
        data = data.replace(b"\x00", b"\x00\xff")
    return _STR + data + b"\x00"


def _element(x: Any, out: List[bytes]) -> None:
    c = x.__class__
    if c is str:
        out.append(_string(x))
    elif c is int or c is float:
        _number(x, out)
    elif c is bool:
        out.append(_TRUE if x else _FALSE)
    elif c is tuple:
        out.append(_TUPLE)
        for e in x:
            _element(e, out)
        out.append(_END)
    elif x is None:
        out.append(_NONE)
    elif isinstance(x, bool):
        out.append(_TRUE if x else _FALSE)
    elif isinstance(x, (int, float)):
        _number(float(x) if isinstance(x, float) else int(x), out)
    elif isinstance(x, str):
        out.append(_string(str(x)))
    elif isinstance(x, tuple):
        _element(tuple(x), out)
    else:
        raise TypeError(f"cannot encode {type(x).__name__} in an index key")


def encode(key: tuple) -> bytes:
    """The bytes of a key tuple: ``encode(a) < encode(b)`` iff ``a < b``."""
    out: List[bytes] = []
    for e in key:
        _element(e, out)
    return b"".join(out)


# -- the keys of stored values ---------------------------------------------------
NULL_KEY = encode(plain_value_key(None))  # missing and null
ARRAY_MARK = b""  # one extra entry per object whose value is an array (sorts first)


_SMALL_INT = 1 << 64
_POSITIVE = [bytes((_ZERO + size,)) for size in range(9)]  # the tag of a positive integer part of size bytes


def _scalar_fast() -> Callable[[Any], bytes]:
    """value -> key bytes for str and int values without building the tuple,
    used only if it agrees with the generic path on samples (value_key may
    change; then everything goes the generic way)."""
    str_head = encode(plain_value_key("")[:1]) if plain_value_key("")[1:] == ("",) else None
    num_head = encode(plain_value_key(0)[:1]) if plain_value_key(0)[1:] == (0,) else None

    def fast(v: Any) -> bytes:
        c = v.__class__
        if c is str and str_head is not None:
            data = v.encode("utf-8", "surrogatepass")
            if b"\x00" in data:
                data = data.replace(b"\x00", b"\x00\xff")
            return str_head + _STR + data + b"\x00"
        if c is int and num_head is not None:
            if 0 < v < _SMALL_INT:
                size = (v.bit_length() + 7) >> 3
                return num_head + _POSITIVE[size] + v.to_bytes(size, "big") + _WHOLE
            out = [num_head]
            _int_part(v, out)
            out.append(_WHOLE)
            return b"".join(out)
        return encode(plain_value_key(v))

    samples = ["", "a", "a\x00b", "\ud800", "é", 0, 1, -1, 255, 256, -256, 10 ** 30, -(10 ** 30), 2 ** 63]
    if all(fast(s) == encode(plain_value_key(s)) for s in samples):
        return fast
    return lambda v: encode(plain_value_key(v))


value_bytes: Callable[[Any], bytes] = _scalar_fast()
value_bytes.__doc__ = "The index key of one (non-array) value: encode(value_key(value))."


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Changes when value_key orders or equates these samples differently
    (computed when an index is first looked at, not at import)."""
    import zlib
    samples: List[Any] = [
        None, True, False, 0, -1, 1.5, 2 ** 70, "", "a", "b", [], [1], [1, "a"], [[1]],
        {}, {"a": 1}, {"b": {"c": [1]}}, {"a": None}, {"a": [1, {"b": 2}]},
        {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"},
        {"__type": "Pointer", "className": "C", "objectId": "x"},
        {"__type": "GeoPoint", "latitude": 1.0, "longitude": 2.0},
        {"__type": "File", "name": "f"}, {"__type": "Bytes", "base64": "AA=="},
    ]
    blob = b"|".join(encode(plain_value_key(s)) for s in samples)
    return f"k1-{zlib.crc32(blob):08x}"


def keys_of(value: Any, present: bool) -> Iterable[bytes]:
    """Every key an index holds for one object's value: missing and null under
    NULL_KEY; an array under each element (null elements under NULL_KEY), the
    whole array, and ARRAY_MARK (so "does this field hold arrays" is one probe);
    anything else under its own key."""
    if not present or value is None:
        return (NULL_KEY,)
    if value.__class__ is list:
        keys = {ARRAY_MARK, value_bytes(value)}
        for e in value:
            keys.add(NULL_KEY if e is None else value_bytes(e))
        return keys
    return (value_bytes(value),)

