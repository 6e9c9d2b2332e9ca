"""Renderers: turn the canonical scan result (a dict, see docs/result.schema.json) into output formats.

Renderers read the result only; they never consult the engine or the cluster, so `report --from
result.json` gives the same output as the scan that wrote it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# format -> (module, file extension). Modules expose `render(result) -> str`, and may expose
# `write_to(result, binary file)` (its UTF-8 encoding, streamed), which write_format prefers.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("scanner.render.json_out", "json"),
    "text": ("scanner.render.text", "txt"),
    "sarif": ("scanner.render.sarif", "sarif"),
    "junit": ("scanner.render.junit", "junit.xml"),
    "md": ("scanner.render.markdown", "md"),
    "csv": ("scanner.render.csv_out", "csv"),
    "html": ("scanner.render.html", "html"),
    "policyreport": ("scanner.render.policyreport", "policyreport.yaml"),
    "pdf": ("scanner.render.pdf", "pdf"),  # binary: written with write_format()
}


def renderer(fmt: str) -> Callable[[dict[str, Any]], str]:
    module, _ = FORMATS[fmt]
    fn: Callable[[dict[str, Any]], str] = importlib.import_module(module).render
    return fn


def write_format(fmt: str, result: dict[str, Any], path: str) -> None:
    """Write one format to a file (the PDF is binary and written by its renderer)."""
    if fmt == "pdf":
        importlib.import_module("scanner.render.pdf").render_pdf(result, path)
        return
    module = importlib.import_module(FORMATS[fmt][0])
    if hasattr(module, "write_to"):  # large outputs: streamed, the same bytes as render()
        with open(path, "wb", buffering=1 << 20) as bfh:
            module.write_to(result, bfh)
        return
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(renderer(fmt)(result))
