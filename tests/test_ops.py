"""Update bodies and __op operations: cql.engine.ops.apply_update / relation_changes."""
from __future__ import annotations

import copy

import pytest

from cql.errors import CQLError, InvalidJSON, InvalidKey, TypeMismatch
from cql.engine.ops import RelationChange, apply_update, relation_changes

NOW = "2026-01-02T03:04:05.678Z"


def P(cls: str, oid: str) -> dict:
    return {"__type": "Pointer", "className": cls, "objectId": oid}


def base() -> dict:
    return {"objectId": "o1", "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
            "n": 5, "f": 1.5, "s": "text", "b": True, "bits": 12, "nul": None,
            "tags": ["a", "b", "a", 1], "ptrs": [P("A", "1"), P("A", "2")],
            "meta": {"color": "red", "inner": {"k": 1}}, "fans": {"__type": "Relation", "className": "_User"}}


def op(name, **args):
    return {"__op": name, **args}


class TestPlainValues:
    def test_set_and_updated_at(self):
        o = base()
        new = apply_update(o, {"s": "new", "x": [1, {"y": 2}]}, NOW)
        assert new["s"] == "new" and new["x"] == [1, {"y": 2}]
        assert new["updatedAt"] == NOW and new["createdAt"] == o["createdAt"]
        assert o == base()  # untouched

    def test_without_now_keeps_updated_at(self):
        assert apply_update(base(), {"s": 1})["updatedAt"] == "2020-01-01T00:00:00.000Z"

    def test_values_are_copied(self):
        value = {"deep": [1, 2]}
        new = apply_update({}, {"v": value})
        value["deep"].append(3)
        assert new["v"] == {"deep": [1, 2]}

    def test_dotted_keys_set_nested_without_touching_the_original(self):
        o = base()
        new = apply_update(o, {"meta.color": "blue", "meta.inner.k": 2, "meta.new": True})
        assert new["meta"] == {"color": "blue", "inner": {"k": 2}, "new": True}
        assert o["meta"] == {"color": "red", "inner": {"k": 1}}

    def test_dotted_keys_create_missing_levels(self):
        assert apply_update({}, {"a.b.c": 1}) == {"a": {"b": {"c": 1}}}
        assert apply_update({"a": None}, {"a.b": 1}) == {"a": {"b": 1}}

    def test_dotted_key_through_a_non_object(self):
        o = base()
        with pytest.raises(TypeMismatch) as e:
            apply_update(o, {"s.x": 1})
        assert e.value.code == 111 and "'s'" in e.value.message
        with pytest.raises(TypeMismatch):
            apply_update(o, {"ptrs.x": 1})
        assert o == base()

    def test_typed_values(self):
        d = {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}
        g = {"__type": "GeoPoint", "latitude": 1.0, "longitude": 2.0}
        new = apply_update({}, {"d": d, "g": g, "p": P("A", "x")})
        assert new == {"d": d, "g": g, "p": P("A", "x")}

    def test_reserved_and_bad_keys(self):
        for key in ("objectId", "createdAt", "updatedAt", "$set", "a..b", "", "a.$b"):
            with pytest.raises(InvalidKey) as e:
                apply_update(base(), {key: 1})
            assert e.value.code == 105

    def test_body_must_be_an_object(self):
        with pytest.raises(InvalidJSON):
            apply_update(base(), [1])


class TestIncrement:
    def test_increment_and_decrement(self):
        new = apply_update(base(), {"n": op("Increment", amount=3), "f": op("Decrement", amount=0.5)})
        assert new["n"] == 8 and isinstance(new["n"], int)
        assert new["f"] == 1.0

    def test_negative_and_float_amounts(self):
        assert apply_update(base(), {"n": op("Increment", amount=-2.5)})["n"] == 2.5

    def test_missing_field_starts_at_zero(self):
        assert apply_update(base(), {"z": op("Increment", amount=2)})["z"] == 2
        assert apply_update(base(), {"z": op("Decrement", amount=2)})["z"] == -2
        assert apply_update(base(), {"meta.count": op("Increment", amount=1)})["meta"]["count"] == 1

    @pytest.mark.parametrize("field,kind", [("s", "String"), ("b", "Boolean"), ("tags", "Array"),
                                            ("nul", "null"), ("meta", "Object"), ("fans", "Relation")])
    def test_on_non_number_is_type_mismatch(self, field, kind):
        o = base()
        with pytest.raises(TypeMismatch) as e:
            apply_update(o, {"n": 99, field: op("Increment", amount=1)})
        assert e.value.code == 111
        assert repr(field) in e.value.message and kind in e.value.message and "Number" in e.value.message
        assert o == base()

    @pytest.mark.parametrize("amount", ["1", True, None, [1]])
    def test_bad_amount(self, amount):
        with pytest.raises(TypeMismatch):
            apply_update(base(), {"n": op("Increment", amount=amount)})

    def test_missing_amount(self):
        with pytest.raises(InvalidJSON) as e:
            apply_update(base(), {"n": op("Increment")})
        assert "amount" in e.value.message


class TestArrays:
    def test_add_keeps_duplicates(self):
        new = apply_update(base(), {"tags": op("Add", objects=["b", "c"])})
        assert new["tags"] == ["a", "b", "a", 1, "b", "c"]

    def test_add_to_missing(self):
        assert apply_update({}, {"t": op("Add", objects=[1, 1])}) == {"t": [1, 1]}

    def test_add_unique_keeps_order_and_appends_only_new(self):
        new = apply_update(base(), {"tags": op("AddUnique", objects=["b", "c", "c", 1.0, True, "d"])})
        assert new["tags"] == ["a", "b", "a", 1, "c", True, "d"]

    def test_add_unique_pointers_and_objects_by_value(self):
        new = apply_update(base(), {"ptrs": op("AddUnique", objects=[
            {"__type": "Pointer", "objectId": "2", "className": "A"}, P("A", "3"), P("B", "1")])})
        assert new["ptrs"] == [P("A", "1"), P("A", "2"), P("A", "3"), P("B", "1")]
        new2 = apply_update({"o": [{"a": 1, "b": 2}]}, {"o": op("AddUnique", objects=[{"b": 2, "a": 1}])})
        assert new2["o"] == [{"a": 1, "b": 2}]

    def test_remove_every_occurrence(self):
        new = apply_update(base(), {"tags": op("Remove", objects=["a", 1.0, "zz"])})
        assert new["tags"] == ["b"]
        new2 = apply_update(base(), {"ptrs": op("Remove", objects=[P("A", "1")])})
        assert new2["ptrs"] == [P("A", "2")]

    def test_remove_bool_is_not_number(self):
        assert apply_update({"t": [1, True]}, {"t": op("Remove", objects=[True])})["t"] == [1]

    def test_remove_from_missing_stays_missing(self):
        assert "t" not in apply_update({}, {"t": op("Remove", objects=[1])})

    @pytest.mark.parametrize("name", ["Add", "AddUnique", "Remove"])
    @pytest.mark.parametrize("field", ["s", "n", "meta", "nul"])
    def test_on_non_array_is_type_mismatch(self, name, field):
        o = base()
        with pytest.raises(TypeMismatch) as e:
            apply_update(o, {"s": "changed", field: op(name, objects=[1])})
        assert e.value.code == 111 and "Array" in e.value.message and repr(field) in e.value.message
        assert o == base()

    def test_objects_must_be_an_array(self):
        with pytest.raises(TypeMismatch):
            apply_update(base(), {"tags": op("Add", objects="x")})
        with pytest.raises(InvalidJSON):
            apply_update(base(), {"tags": op("Add")})

    def test_original_array_not_mutated(self):
        o = base()
        tags = o["tags"]
        apply_update(o, {"tags": op("Add", objects=["z"])})
        apply_update(o, {"tags": op("Remove", objects=["a"])})
        assert tags == ["a", "b", "a", 1]


class TestDelete:
    def test_delete_field_and_nested(self):
        new = apply_update(base(), {"s": op("Delete"), "meta.inner": op("Delete")})
        assert "s" not in new and new["meta"] == {"color": "red"}

    def test_delete_missing_is_fine(self):
        assert apply_update({"a": 1}, {"zz": op("Delete"), "q.r": op("Delete")}) == {"a": 1}


class TestBits:
    def test_bit_ops(self):
        new = apply_update(base(), {"bits": op("BitAnd", value=10)})
        assert new["bits"] == 8
        assert apply_update(base(), {"bits": op("BitOr", value=3)})["bits"] == 15
        assert apply_update(base(), {"bits": op("BitXor", value=4)})["bits"] == 8
        assert apply_update({}, {"z": op("BitOr", value=5)})["z"] == 5

    @pytest.mark.parametrize("field", ["f", "s", "b", "tags"])
    def test_on_non_integer_is_type_mismatch(self, field):
        o = base()
        with pytest.raises(TypeMismatch) as e:
            apply_update(o, {field: op("BitOr", value=1)})
        assert e.value.code == 111 and repr(field) in e.value.message
        assert o == base()

    @pytest.mark.parametrize("value", [1.0, "1", True, None])
    def test_non_integer_value(self, value):
        with pytest.raises(TypeMismatch):
            apply_update(base(), {"bits": op("BitAnd", value=value)})


class TestRelations:
    def test_add_relation_sets_relation_field(self):
        body = {"fans": op("AddRelation", objects=[P("_User", "u1"), P("_User", "u2")]),
                "friends": op("RemoveRelation", objects=[P("Person", "x")])}
        new = apply_update(base(), body)
        assert new["fans"] == {"__type": "Relation", "className": "_User"}
        assert new["friends"] == {"__type": "Relation", "className": "Person"}
        assert relation_changes(body) == [
            RelationChange("fans", "add", "_User", ("u1", "u2")),
            RelationChange("friends", "remove", "Person", ("x",)),
        ]

    def test_batch_of_relation_ops(self):
        body = {"fans": {"__op": "Batch", "ops": [op("AddRelation", objects=[P("_User", "a")]),
                                                   op("RemoveRelation", objects=[P("_User", "b")])]}}
        assert apply_update({}, body)["fans"] == {"__type": "Relation", "className": "_User"}
        assert relation_changes(body) == [RelationChange("fans", "add", "_User", ("a",)),
                                          RelationChange("fans", "remove", "_User", ("b",))]

    def test_relation_changes_ignores_other_fields(self):
        assert relation_changes({"n": 1, "m": op("Increment", amount=1)}) == []

    def test_wrong_class_or_non_relation_field(self):
        o = base()
        with pytest.raises(TypeMismatch) as e:
            apply_update(o, {"fans": op("AddRelation", objects=[P("Person", "x")])})
        assert "_User" in e.value.message and "Person" in e.value.message
        with pytest.raises(TypeMismatch):
            apply_update(o, {"s": op("AddRelation", objects=[P("Person", "x")])})
        with pytest.raises(TypeMismatch):
            apply_update(o, {"r": op("AddRelation", objects=[P("A", "1"), P("B", "2")])})
        with pytest.raises(TypeMismatch):
            apply_update(o, {"r": op("AddRelation", objects=["notapointer"])})
        with pytest.raises(InvalidJSON):
            apply_update(o, {"r": op("AddRelation", objects=[])})
        assert o == base()


class TestAtomicity:
    def test_error_after_successful_ops_leaves_object_unchanged(self):
        o = base()
        snapshot = copy.deepcopy(o)
        body = {"n": op("Increment", amount=1), "meta.color": "green", "tags": op("Add", objects=["q"]),
                "s": op("Increment", amount=1)}
        with pytest.raises(TypeMismatch):
            apply_update(o, body)
        assert o == snapshot

    def test_unknown_op(self):
        with pytest.raises(CQLError) as e:
            apply_update(base(), {"n": op("Multiply", amount=2)})
        assert "Multiply" in e.value.message and e.value.code == 107

    def test_shared_nested_objects_are_not_aliased(self):
        o = base()
        new = apply_update(o, {"meta.color": "x"})
        new2 = apply_update(new, {"meta.inner.k": 5})
        assert o["meta"]["inner"]["k"] == 1 and new["meta"]["inner"]["k"] == 1
        assert new2["meta"] == {"color": "x", "inner": {"k": 5}}


# ------------------------------------------------------------------ robustness (hypothesis)

from hypothesis import given, settings, strategies as st  # noqa: E402

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False),
                     st.sampled_from(["", "a", "b"]), st.just(P("A", "1")))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["k", "m"]), inner, max_size=2)),
    max_leaves=6)
_op_names = st.sampled_from(["Increment", "Decrement", "Add", "AddUnique", "Remove", "Delete",
                             "AddRelation", "RemoveRelation", "BitAnd", "BitOr", "BitXor", "Nope"])
_ops = st.builds(lambda name, arg, which: {"__op": name, which: arg},
                 _op_names, _values, st.sampled_from(["amount", "objects", "value"]))
_keys = st.sampled_from(["n", "s", "tags", "meta", "meta.k", "meta.m.k", "new", "bits", "fans"])


class TestRobustness:
    @settings(max_examples=400, deadline=None)
    @given(st.dictionaries(_keys, st.one_of(_values, _ops), max_size=4))
    def test_never_mutates_and_only_raises_cql_errors(self, body):
        o = base()
        snapshot = copy.deepcopy(o)
        try:
            new = apply_update(o, body, NOW)
        except CQLError:
            new = None
        assert o == snapshot
        if new is not None:
            assert new["updatedAt"] == NOW and new["objectId"] == "o1"
            # every container on a written path is new (copy-on-write: others may be shared)
            old = {id(x) for x in _containers(o)}
            for key in body:
                for container in _on_path(new, key.split(".")):
                    assert id(container) not in old, key


def _containers(value):
    if isinstance(value, (dict, list)):
        yield value
        for v in (value.values() if isinstance(value, dict) else value):
            yield from _containers(v)


def _on_path(obj, parts):
    """The containers a dotted write went through, and the written value if it is one."""
    yield obj
    cur = obj
    for p in parts:
        if not isinstance(cur, dict) or p not in cur:
            return
        cur = cur[p]
        if isinstance(cur, (dict, list)):
            yield cur
