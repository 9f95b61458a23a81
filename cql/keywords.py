"""CQL's vocabulary: keywords, functions and distance units. The parser checks
function calls and units against it; the shell highlights and completes from it.

Kept in step with grammar/cql.lark by tests/test_lang_parser.py (no grammar
loading here: the shell imports this at startup).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

#: Every keyword of the grammar, lower case (CQL keywords are case-insensitive).
KEYWORDS: List[str] = [
    "select", "from", "where", "limit", "order", "by", "asc", "desc", "include",
    "insert", "into", "values", "update", "set", "delete",
    "and", "or", "not", "in", "is", "exists", "null", "true", "false",
    "like", "regexp", "all", "near", "within", "min", "max", "related", "to",
]

#: Functions that stand where a value does: name -> (fewest, most) arguments.
VALUE_FUNCTIONS: Dict[str, Tuple[int, int]] = {
    "date": (1, 1), "pointer": (2, 2), "geopoint": (2, 2), "file": (1, 1),
    "base64": (1, 1), "current_timestamp": (0, 0), "op": (1, 2),
}

#: Functions: count(*) in the select list, size(f) in conditions, the rest as values.
FUNCTIONS: List[str] = ["count", "size", *VALUE_FUNCTIONS]

#: Distance units after ``near ... min/max``: each spelling -> the unit it means.
DISTANCE_UNITS: Dict[str, str] = {
    "km": "kilometers", "kilometer": "kilometers", "kilometers": "kilometers",
    "mi": "miles", "mile": "miles", "miles": "miles",
    "rad": "radians", "radian": "radians", "radians": "radians",
}
