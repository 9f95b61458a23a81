"""The names of CQL and REST JSON: what a class or field may be called, and the
fields the database itself sets. One home, used by the parser, the planner,
both backends and the shell.
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
