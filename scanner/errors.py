"""The error hierarchy. Only `scanner.cli` turns these into messages and exit codes.

Every message is one line a user can act on: it names the file, the object and the field when they are known.
"""

from __future__ import annotations

from scanner.textsafe import one_line


class AuditError(Exception):
    """Base class of every error the scanner reports to a user."""

    exit_code = 2


class InputError(AuditError):
    """Input that cannot be read or understood: bad files, bad objects, bad arguments."""

    def __init__(self, message: str, *, file: str | None = None, obj: str | None = None,
                 field: str | None = None) -> None:
        self.file = file
        self.obj = obj
        self.field = field
        self.detail = message
        super().__init__(format_location(file, obj, field, message))


class CollectionError(AuditError):
    """A live collection failed as a whole (no usable snapshot)."""


class CatalogError(AuditError):
    """The rule catalog or a framework mapping is inconsistent."""


def format_location(file: str | None, obj: str | None, field: str | None, message: str) -> str:
    """`file: object: field: message`, leaving out the parts that are unknown."""
    parts = [p for p in (file, obj, field) if p]
    return one_line(": ".join([*parts, message]))


def type_name(value: object) -> str:
    """How a message names the JSON type of a value that has the wrong one."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)
