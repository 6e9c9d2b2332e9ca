"""The rule catalog as a table, Markdown (the README's rule table) or JSON."""

from __future__ import annotations

import orjson

from scanner.catalog import Catalog
from scanner.render.tables import table


def render_rules(catalog: Catalog, fmt: str) -> str:
    metas = [catalog.meta(r) for r in catalog.rules]
    if fmt == "json":
        return orjson.dumps([m.to_json() for m in metas], option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "md":
        lines = ["| ID | slug | title | severity |", "|---|---|---|---|"]
        lines += [f"| {m.id} | `{m.slug}` | {m.title.replace('|', '/')} | {m.severity} |" for m in metas]
        return "\n".join(lines) + "\n"
    return table(["ID", "SLUG", "SEVERITY", "TITLE"], [[m.id, m.slug, m.severity, m.title] for m in metas]) + "\n"
