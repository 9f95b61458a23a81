"""The names of CQL and REST JSON: what a class or field may be called, the
fields the database itself sets, and the update operators. One home, used by
the parser, the planner, both backends and the shell.
"""
from __future__ import annotations

import re

#: A field name (one segment of a dotted path): an ASCII letter, then ASCII
#: letters, digits and '_' (code 105 otherwise).
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: A class name: like a field name, but it may also start with '_' (code 103 otherwise).
CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_field_name(name: str) -> bool:
    return FIELD_NAME.match(name) is not None


def is_class_name(name: str) -> bool:
    return CLASS_NAME.match(name) is not None


#: The fields every object has, set by the database (a statement cannot write them).
SYSTEM_FIELDS = ("objectId", "createdAt", "updatedAt")
#: Their schema types.
SYSTEM_TYPES = {"objectId": "String", "createdAt": "Date", "updatedAt": "Date"}
#: The system fields holding dates: stored as plain ISO strings, compared as dates.
DATE_FIELDS = frozenset(("createdAt", "updatedAt"))

#: The update operators (``SET f = op('Name', {...})``, REST ``{"__op": "Name"}``),
#: canonical spelling -> the schema type a new field gets from it ("" for none).
UPDATE_OPS = {
    "Increment": "Number", "Decrement": "Number", "Add": "Array", "AddUnique": "Array",
    "Remove": "Array", "AddRelation": "Relation", "RemoveRelation": "Relation", "Delete": "",
    "BitAnd": "Number", "BitOr": "Number", "BitXor": "Number",
}
#: Ops whose repetition changes the outcome: a PUT carrying one must not be retried.
NON_IDEMPOTENT_OPS = frozenset({"Increment", "Decrement", "Add", "BitAnd", "BitOr", "BitXor"})
