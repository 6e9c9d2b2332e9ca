"""The canonical JSON result: sorted keys, two-space indent, UTF-8; byte-identical for identical input."""

from __future__ import annotations

from typing import Any, BinaryIO

import orjson

from scanner.render.stream import write_json


def render(result: dict[str, Any]) -> str:
    return render_bytes(result).decode()


def render_bytes(result: dict[str, Any]) -> bytes:
    return orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_to(result: dict[str, Any], fh: BinaryIO) -> None:
    """`render_bytes` written piece by piece (scanner.render.stream): the same bytes, less memory."""
    write_json(fh, result)
