"""A seeded fuzzer of the Python API with hostile parameters (issue 12).

Every input is a call a program could make: ``cql.parse``, ``cql.explain`` (both
dialects), ``Connection.execute`` on a transient and a file database, a DB-API
cursor, ``cql.connect`` with odd targets and options. Parameters are huge ints,
NaN/Infinity, lone surrogates, NUL, long strings, deep nesting, cycles, typed
REST dicts gone wrong, subclasses of str/int/dict with methods that raise,
objects whose ``__repr__`` raises, objects that fake their ``__class__`` ...

An **escape** is any exception that is not a ``cql.Error``; a **stall** is an
input that takes longer than ``--stall`` seconds. CI runs a few thousand inputs
(tests/fuzz/test_fuzz.py); the full run is

    python3 tests/fuzz/fuzz_api.py --inputs 100000 [--seed 1]

which prints one line per escape (the operation, the exception, the input)
and a summary, and exits 1 when it found any.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import cql  # noqa: E402

# -- hostile values -----------------------------------------------------------------------


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr says no")


class Everything:
    """Every method a library might call raises."""

    def _boom(self, *a: Any, **k: Any) -> Any:
        raise RuntimeError("hostile")

    __repr__ = __str__ = __eq__ = __hash__ = __iter__ = __len__ = _boom
    __float__ = __int__ = __index__ = __bool__ = __lt__ = __format__ = __fspath__ = _boom


class FakeStr:
    """isinstance(x, str) is True; it is not a str."""

    @property  # type: ignore[misc]
    def __class__(self):  # noqa: D401
        return str


class EvilInt(int):
    def __repr__(self) -> str:
        raise RuntimeError("int repr")

    __str__ = __format__ = __repr__


class EvilStr(str):
    def __repr__(self) -> str:
        raise RuntimeError("str repr")

    def strip(self, *a: Any) -> str:
        raise RuntimeError("strip")

    def startswith(self, *a: Any) -> bool:
        raise RuntimeError("startswith")

    def encode(self, *a: Any, **k: Any) -> bytes:
        raise RuntimeError("encode")


class EvilDict(dict):
    def items(self):  # type: ignore[override]
        raise RuntimeError("items")

    def __repr__(self) -> str:
        raise RuntimeError("dict repr")


class EvilList(list):
    def __iter__(self):
        raise RuntimeError("iter")

    def __repr__(self) -> str:
        raise RuntimeError("list repr")


class NaNFloat(float):
    pass


def deep_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def deep_dict(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def cyclic_list() -> list:
    a: list = [1]
    a.append(a)
    return a


def cyclic_dict() -> dict:
    d: dict = {"a": 1}
    d["self"] = d
    return d


UTC = timezone.utc
SCALARS: List[Callable[[], Any]] = [
    lambda: None, lambda: True, lambda: False, lambda: 0, lambda: -1, lambda: 7, lambda: 2 ** 53 + 1,
    lambda: 2 ** 63, lambda: 2 ** 64, lambda: -2 ** 63 - 1, lambda: 10 ** 308, lambda: 10 ** 309,
    lambda: 10 ** 400, lambda: 10 ** 5000, lambda: -10 ** 5000, lambda: 0.0, lambda: -0.0, lambda: 1e308,
    lambda: 5e-324, lambda: math.nan, lambda: math.inf, lambda: -math.inf, lambda: NaNFloat("nan"),
    lambda: "", lambda: "a", lambda: "\x00", lambda: "a\x00b", lambda: "\ud800", lambda: "x\udcffy",
    lambda: "x" * 100_000, lambda: "%" * 40, lambda: "(a+)+$", lambda: "(a|a)*$", lambda: "'; drop",
    lambda: "\n", lambda: "李总", lambda: "\U0010ffff", lambda: "0", lambda: " 5 ", lambda: "²",
    lambda: "1" * 5000, lambda: "2015-13-45", lambda: "9999-12-31T23:59:59.999-14:00",
    lambda: "0001-01-01T00:00:00+14:00", lambda: ".", lambda: "..", lambda: "a/b", lambda: "%2F",
    lambda: "[" * 50, lambda: "\\Q", lambda: "(?<n>", lambda: "a{99999}{99999}",
    lambda: b"\xff", lambda: bytearray(b"ab"), lambda: memoryview(b"cd"),
    lambda: datetime.min, lambda: datetime.max, lambda: datetime.min.replace(tzinfo=UTC),
    lambda: datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))), lambda: date.max,
    lambda: datetime(2020, 1, 1), lambda: timedelta(1), lambda: Decimal("1e999"), lambda: Decimal("nan"),
    lambda: 1j, lambda: {1, 2}, lambda: frozenset(), lambda: range(3), lambda: object(), lambda: type,
    lambda: (lambda: 1), lambda: ..., lambda: NotImplemented, lambda: (i for i in range(2)),
    lambda: RaisingRepr(), lambda: Everything(), lambda: FakeStr(), lambda: EvilInt(5),
    lambda: EvilStr("abc"), lambda: EvilDict(a=1), lambda: EvilList([1, 2]),
    lambda: deep_list(50), lambda: deep_list(150), lambda: deep_list(5000), lambda: deep_dict(150),
    lambda: deep_dict(3000), lambda: cyclic_list(), lambda: cyclic_dict(),
    lambda: {"__type": "Date", "iso": 5}, lambda: {"__type": "Date", "iso": "\ud800"},
    lambda: {"__type": "Pointer"}, lambda: {"__type": "Pointer", "className": "C", "objectId": 10 ** 400},
    lambda: {"__type": "GeoPoint", "latitude": 1e999, "longitude": 0},
    lambda: {"__type": "GeoPoint", "latitude": 10 ** 400, "longitude": 0},
    lambda: {"__op": "Increment", "amount": 10 ** 400}, lambda: {"__op": "Increment", "amount": "x"},
    lambda: {"__op": "Add", "objects": cyclic_list()}, lambda: {"__op": "Nope"},
    lambda: {"$gt": 1}, lambda: {"$regex": "(a|a)*$"}, lambda: {1: 2}, lambda: {None: 1},
    lambda: {(1, 2): 3}, lambda: {"a.b": 1}, lambda: {"$x": 1}, lambda: {"\ud800": 1},
    lambda: {RaisingRepr(): 1}, lambda: {"__type": "Bytes", "base64": "%%%"},
    lambda: {"__type": "File"}, lambda: {"__type": "Relation", "className": "C"},
    lambda: cql.Pointer(None, 5), lambda: cql.Pointer("C", "\ud800"), lambda: cql.Pointer("C", "."),
    lambda: cql.File(10 ** 5000), lambda: cql.Relation(None), lambda: cql.Pointer(EvilStr("C"), "x"),
    lambda: [1, "a", None], lambda: [], lambda: {}, lambda: (1, 2), lambda: [10 ** 400],
    lambda: [math.nan], lambda: {"a": "\ud800"}, lambda: [0.5, 1.5], lambda: [-200, 100],
]


BENIGN: List[Callable[[], Any]] = [
    lambda: 1, lambda: 2, lambda: 0, lambda: 10, lambda: "aaa", lambda: "x", lambda: [1, 2], lambda: 0.5,
    lambda: [2.0, 3.0], lambda: "a%", lambda: "^a", lambda: {"a": 1}, lambda: datetime(2020, 1, 1, tzinfo=UTC),
    lambda: cql.Pointer("G", "x"), lambda: cql.GeoPoint(latitude=1, longitude=2), lambda: "Increment",
    lambda: "2020-01-01T00:00:00.000Z", lambda: {"amount": 1}, lambda: ["a"], lambda: "fans", lambda: b"abc",
]


def value(rnd: random.Random) -> Any:
    """A parameter: mostly ordinary (so statements run deep), often hostile."""
    return rnd.choice(BENIGN)() if rnd.random() < 0.55 else hostile(rnd)


def hostile(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth < 2 and roll < 0.12:
        return [hostile(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    if depth < 2 and roll < 0.2:
        return {rnd.choice(["a", "b", "__type", "__op", "$in", "iso", "x.y"]): hostile(rnd, depth + 1)
                for _ in range(rnd.randint(0, 3))}
    return rnd.choice(SCALARS)()


# -- statements ------------------------------------------------------------------------------

TEMPLATES = [
    "select * from F where a = ?",
    "select * from F where a > ? order by -a limit ?",
    "select * from F order by score limit ?, ?",
    "select count(*) from F where loc near geopoint(?, ?)",
    "select * from F where loc near ? max ? km",
    "select * from F where loc near [?, ?] min ? miles max ? kilometers",
    "select * from F where loc within ? and ?",
    "select * from F where f = file(?)",
    "select * from F where p = pointer(?, ?)",
    "select * from F where d = date(?)",
    "select * from F where d < date(?) and createdAt > ?",
    "select * from F where b = base64(?)",
    "select * from F where a in ?",
    "select * from F where a in (?, ?)",
    "select * from F where a not in (?)",
    "select * from F where a all ?",
    "select * from F where size(a) = ?",
    "select * from F where a like ?",
    "select * from F where a not like ?",
    "select * from F where a regexp ?",
    "select * from F where a not regexp ?",
    "select * from F where related fans to ?",
    "select * from F where objectId = ? and a = ?",
    "select * from F where a = ? or a = ? or b != ?",
    "select * from F where a.b.c = ?",
    "select * from F where p in (select * from G where x = ?)",
    "select * from F where p in (select k from G where x > ? limit ?)",
    "select include p, a from F where a = ? limit ?",
    "insert into F (a, b) values (?, ?)",
    "insert into F (a) values (?), (?)",
    "insert into F (loc) values (geopoint(?, ?))",
    "update F set a = ? where objectId = ?",
    "update F set a = ? where b = ?",
    "update F set a = op(?, ?) where objectId = ?",
    "update F set n = op('Increment', {'amount': ?}) where a = ?",
    "update F set t = op('AddUnique', {'objects': ?}) where a != ?",
    "update F set fans = op('AddRelation', {'objects': [?]}) where objectId = ?",
    "delete from F where objectId = ?",
    "delete from F where a = ?",
]

TEXT_BITS = ["select", "*", "from", "F", "where", "a", "=", "1", "?", "'x'", "(", ")", ",", "limit",
             "\ud800", "\x00", "9" * 400, "1e999", "0x" + "f" * 300, "[" * 300, "'", "`", "\\", "李",
             "order by", "-a", "near", "[1, 2]", "insert into", "values", ";", "update", "set",
             "delete", "op('Increment', {'amount': 1})", "like '%a%a%a%b'", "regexp '(a|a)*$'",
             "date('2020-02-30')", "geopoint(1000, 1)", "count(*)", "include", "not", "in", "null"]

DIALECTS = ["leancloud", "parse-postgres"]


def random_text(rnd: random.Random) -> str:
    return " ".join(rnd.choice(TEXT_BITS) for _ in range(rnd.randint(1, 14)))


# -- operations ------------------------------------------------------------------------------

class Fuzzer:
    def __init__(self, seed: int, workdir: str):
        self.rnd = random.Random(seed)
        self.workdir = workdir
        self.outcomes: Counter = Counter()
        self.transient = cql.connect(strict_types=False)
        self.file = cql.connect(os.path.join(workdir, "fuzz.db"), strict_types=False)
        for conn in (self.transient, self.file):
            conn.execute("insert into F (a, b, n, t, score, loc) values (1, 'x', 1, [], 5, geopoint(1, 2)), "
                         "('aaa', 2, 2, ['a'], 7, geopoint(3, 4))")
            conn.execute("insert into G (x, k) values (1, 'aaa'), (2, 1)")
        self.ops: List[Tuple[str, Callable[[], Any]]] = [
            ("parse", self.op_parse), ("explain", self.op_explain), ("execute-transient", self.op_execute),
            ("execute-file", self.op_execute_file), ("cursor", self.op_cursor), ("connect", self.op_connect),
            ("execute-text", self.op_execute_text), ("read-back", self.op_read_back),
            ("query", self.op_query), ("object", self.op_object),
        ]

    def params_for(self, template: str) -> list:
        n = template.count("?")
        if self.rnd.random() < 0.05:
            n += self.rnd.choice([-1, 1])
        return [value(self.rnd) for _ in range(max(n, 0))]

    def op_parse(self) -> Any:
        return cql.parse(random_text(self.rnd))

    def op_explain(self) -> Any:
        template = self.rnd.choice(TEMPLATES)
        return cql.explain(template, *self.params_for(template), dialect=self.rnd.choice(DIALECTS))

    def op_execute(self, conn: Any = None) -> Any:
        template = self.rnd.choice(TEMPLATES)
        return (conn or self.transient).execute(template, *self.params_for(template))

    def op_execute_file(self) -> Any:
        return self.op_execute(self.file)

    def op_execute_text(self) -> Any:
        return self.rnd.choice([self.transient, self.file]).execute(random_text(self.rnd))

    def op_read_back(self) -> Any:
        """What the fuzzed writes stored stays readable and printable."""
        from cql.shell.formats import FORMATS, render
        conn = self.rnd.choice([self.transient, self.file])
        result = conn.execute(self.rnd.choice(["select * from F order by -updatedAt limit 30",
                                               "select * from F where a is exists limit 30", "select * from G"]))
        result.results, result.rows  # noqa: B018 - decoding every value
        return render(result, self.rnd.choice(FORMATS))

    QUERY_WORDS = ["equal_to", "not_equal_to", "less_than", "greater_than_or_equal_to", "contained_in",
                   "not_contained_in", "contains_all", "startswith", "endswith", "contains", "matched",
                   "size_equal_to", "near", "within_kilometers", "within_geo_box", "limit", "skip", "filter",
                   "order", "select", "include"]

    def op_query(self) -> Any:
        """cql.Query's vocabularies with hostile arguments."""
        rnd = self.rnd
        conn = rnd.choice([self.transient, self.file])
        q = cql.Query(rnd.choice(["F", "G", value(rnd)]), conn=conn) if rnd.random() < 0.1 \
            else cql.Query(rnd.choice(["F", "G"]), conn=conn)
        for _ in range(rnd.randint(1, 3)):
            word = rnd.choice(self.QUERY_WORDS)
            method = getattr(q, word)
            if word in ("limit", "skip", "size_equal_to"):
                q = method(*([value(rnd)] if word != "size_equal_to" else ["t", value(rnd)]))
            elif word in ("within_kilometers",):
                q = method("loc", value(rnd), value(rnd))
            elif word == "within_geo_box":
                q = method("loc", value(rnd), value(rnd))
            elif word == "filter":
                q = method(rnd.choice(["a =", "a >", "a IN", "b !=", value(rnd)]), value(rnd))
            elif word in ("order", "select", "include"):
                q = method(rnd.choice(["a", "-a", "b", value(rnd)]))
            else:
                q = method(rnd.choice(["a", "b", "loc", "t", value(rnd)]), value(rnd))
        end = rnd.choice(["find", "count", "first", "explain", "fetch", "fetch_page"])
        if end == "fetch":
            return q.fetch(value(rnd) if rnd.random() < 0.3 else 5)
        if end == "fetch_page":
            return q.fetch_page(rnd.choice([3, value(rnd)]), rnd.choice([None, value(rnd)]))
        return getattr(q, end)()

    def op_object(self) -> Any:
        """cql.Object: set/increment/add with hostile values, then save."""
        rnd = self.rnd
        obj = cql.Object.extend("F")()
        for _ in range(rnd.randint(1, 3)):
            word = rnd.choice(["set", "increment", "add", "add_unique", "remove", "unset"])
            key = rnd.choice(["a", "n", "t", "objectId", value(rnd)])
            if word == "unset":
                obj.unset(key)
            elif word == "increment":
                obj.increment(key, value(rnd))
            else:
                getattr(obj, word)(key, value(rnd))
        return obj.save(conn=rnd.choice([self.transient, self.file]))

    def op_cursor(self) -> Any:
        cur = self.rnd.choice([self.transient, self.file]).cursor()
        template = self.rnd.choice(TEMPLATES)
        kind = self.rnd.random()
        if kind < 0.7:
            params: Any = self.params_for(template)
        else:
            params = self.rnd.choice([None, 5, "ab", b"ab", {"a": 1}, EvilList([1]), Everything(),
                                      (x for x in [1]), RaisingRepr(), 10 ** 5000])
        cur.execute(template, params)
        if cur.description is not None:
            cur.fetchall()
        return cur

    def op_connect(self) -> Any:
        target = self.rnd.choice([
            "", " ", "\x00", "a\x00b.db", "\ud800.db", "x\udcff.db", "a" * 5000, "/", self.workdir,
            os.path.join(self.workdir, "nodir", "x.db"), os.path.join(self.workdir, f"c{self.rnd.randint(0, 9)}.db"),
            ":memory:", None, b"x.db", 5, Everything(), EvilStr("e.db"), FakeStr(),
            "http://", "http://[::1", "http://a:b@127.0.0.1:99999/parse", "https://x:SECRET@/parse",
        ])
        options: Dict[str, Any] = {}
        for _ in range(self.rnd.randint(0, 2)):
            name = self.rnd.choice(["synchronous", "synchronus", "busy_timeout", "strict_types", "regex_timeout",
                                    "app_id", "master_key", "timeout", "page_size", "flavor", "x"])
            options[name] = hostile(self.rnd)
        conn = cql.connect(target, **options)
        conn.close()
        return conn

    def run(self, inputs: int, stall: float, out: Any = sys.stdout) -> Tuple[int, Counter, List[str]]:
        escapes: List[str] = []
        kinds: Counter = Counter()
        for i in range(inputs):
            name, op = self.rnd.choice(self.ops)
            kinds[name] += 1
            start = time.monotonic()
            try:
                op()
                self.outcomes["ok"] += 1
            except cql.CQLError as exc:
                self.outcomes[f"error {exc.code}"] += 1
            except cql.Error as exc:
                self.outcomes[type(exc).__name__] += 1
            except Exception as exc:  # noqa: BLE001 - what we are looking for
                where = " < ".join(f"{os.path.basename(f.filename)}:{f.lineno}"
                                   for f in reversed(traceback.extract_tb(exc.__traceback__)[-4:]))
                line = (f"escape #{len(escapes) + 1} at input {i}: {name}: {type(exc).__name__}: "
                        f"{cql.errors.describe(str(exc), 150)} [{where}]")
                escapes.append(line)
                print(line, file=out, flush=True)
            took = time.monotonic() - start
            if took > stall:
                line = f"stall at input {i}: {name} took {took:.1f} s"
                escapes.append(line)
                print(line, file=out, flush=True)
        return inputs, kinds, escapes

    def close(self) -> None:
        self.transient.close()
        self.file.close()


def fuzz(inputs: int, seed: int = 1, stall: float = 10.0, out: Any = sys.stdout) -> List[str]:
    """Run ``inputs`` fuzzed calls; the escapes (and stalls) found."""
    workdir = tempfile.mkdtemp(prefix="cql-fuzz-")
    cwd = os.getcwd()
    os.chdir(workdir)  # relative database names land here
    try:
        fuzzer = Fuzzer(seed, workdir)
        try:
            _, kinds, escapes = fuzzer.run(inputs, stall, out)
            outcomes = fuzzer.outcomes
        finally:
            fuzzer.close()
    finally:
        os.chdir(cwd)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{inputs} inputs ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); outcomes: "
          f"{', '.join(f'{k} {v}' for k, v in outcomes.most_common())}; {len(escapes)} escapes",
          file=out, flush=True)
    return escapes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stall", type=float, default=10.0, help="seconds after which one input counts as a stall")
    args = ap.parse_args()
    start = time.time()
    escapes = fuzz(args.inputs, args.seed, args.stall)
    print(f"seed {args.seed}, {time.time() - start:.0f} s")
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
