"""Finds the bundled data directories (`rules/`, `report_templates/`) from a wheel or from a checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """`rules` or `report_templates`: inside the installed package, else at the top of the checkout."""
    for candidate in (_PKG / "_bundled" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled directory {name!r} not found (broken installation?)")


def result_schema() -> Path:
    """The JSON Schema of the scan result (docs/result.schema.json in a checkout)."""
    for candidate in (_PKG / "_bundled" / "result.schema.json", _PKG.parent / "docs" / "result.schema.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("result.schema.json not found (broken installation?)")
