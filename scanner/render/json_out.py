"""The canonical JSON result: sorted keys, two-space indent, UTF-8; byte-identical for identical input."""

from __future__ import annotations

from typing import Any

import orjson


def render(result: dict[str, Any]) -> str:
    return render_bytes(result).decode()


def render_bytes(result: dict[str, Any]) -> bytes:
    return orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
