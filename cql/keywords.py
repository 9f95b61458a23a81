"""CQL's keywords and functions, for the shell's highlighting and completion.

Kept in step with grammar/cql.lark by tests/test_lang_keywords.py (no grammar
loading here: the shell imports this at startup).
"""
from __future__ import annotations

from typing import List

#: Every keyword of the grammar, lower case (CQL keywords are case-insensitive).
KEYWORDS: List[str] = [
    "select", "from", "where", "limit", "order", "by", "asc", "desc", "include",
    "insert", "into", "values", "update", "set", "delete",
    "and", "or", "not", "in", "is", "exists", "null", "true", "false",
    "like", "regexp", "all", "near", "within", "min", "max", "related", "to",
]

#: Functions: count(*) in the select list, size(f) in conditions, the rest as values.
FUNCTIONS: List[str] = [
    "count", "size", "date", "pointer", "geopoint", "file", "base64",
    "current_timestamp", "op",
]

#: Distance units after near ... min/max.
UNITS: List[str] = ["km", "kilometers", "miles", "mi", "radians"]

#: op() names for SET field = op('Name', {...}).
OPS: List[str] = ["Increment", "Decrement", "Add", "AddUnique", "Remove", "AddRelation",
                  "RemoveRelation", "Delete", "BitAnd", "BitOr", "BitXor"]
