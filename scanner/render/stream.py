"""Write JSON exactly as `orjson.dumps(value, OPT_INDENT_2 | OPT_SORT_KEYS)` would, piece by piece.

The findings of a 150,000-pod cluster serialise to hundreds of megabytes; holding that as one bytes object
(and, for SARIF, a second tree of results) would double the peak memory of a scan. `write_json` emits the
same bytes while walking the outer containers, dumping each inner value on its own; generators stand for
lists that are built while they are written. tests/test_outputs.py holds the bytes equal to orjson's.
"""

from __future__ import annotations

import types
from typing import Any, BinaryIO

import orjson

_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def write_json(fh: BinaryIO, value: Any, depth: int = 2) -> None:
    """Write `value`; containers nested `depth` levels deep (the items of the long lists) are dumped whole."""
    _write(fh, value, 0, depth)
    fh.write(b"\n")


def _write(fh: BinaryIO, value: Any, depth: int, limit: int) -> None:
    pad = b"  " * depth
    if depth >= limit or not isinstance(value, (dict, list, tuple, types.GeneratorType)):
        fh.write(orjson.dumps(value, option=_OPTS).replace(b"\n", b"\n" + pad))
        return
    inner = pad + b"  "
    if isinstance(value, dict):
        if not value:
            fh.write(b"{}")
            return
        fh.write(b"{")
        first = True
        for key in sorted(value):
            fh.write(b"\n" if first else b",\n")
            first = False
            fh.write(inner + orjson.dumps(key) + b": ")
            _write(fh, value[key], depth + 1, limit)
        fh.write(b"\n" + pad + b"}")
        return
    first = True
    for item in value:
        fh.write(b"[\n" if first else b",\n")
        first = False
        fh.write(inner)
        _write(fh, item, depth + 1, limit)
    fh.write(b"[]" if first else b"\n" + pad + b"]")
