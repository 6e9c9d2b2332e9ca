"""The auditor report as one self-contained HTML file: inline CSS and SVG, no network fetch, a
Content-Security-Policy that forbids remote loads, and a small optional filter script allowed by its hash.

Owns the Jinja2 environment: sandboxed, autoescape forced on for every template (the values are names,
labels and messages from the cluster), StrictUndefined, templates only from the bundled `report_templates/`
(the loader refuses paths outside it). Reads the canonical result only; `pdf.py` renders the same document
with the PDF limits and print CSS.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from scanner.render import charts, report_model
from scanner.render.report_model import HTML_LIMITS, Limits
from scanner.resources import bundled
from scanner.textsafe import visible

TEMPLATE = "report.html.j2"
SCRIPT = "filter.js"


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


_TICKS = re.compile(r"`([^`\n]{1,300})`")


def _ticks(value: Any) -> Markup:
    """Text with `backtick` spans (as rule metadata and messages write them) shown as code. The text is
    escaped first, so only the <code> elements added here are markup."""
    return Markup(_TICKS.sub(r"<code>\1</code>", str(escape(value))))


def _visible(value: Any) -> Any:
    """Every `{{ }}` value: bidi and control characters spelled out, so text reads as it is (see textsafe)."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)))  # markup we built; visible() adds no markup characters
    return visible(value) if isinstance(value, str) else value


def environment() -> ImmutableSandboxedEnvironment:
    """The report's template environment. Autoescape is `True` for every template, whatever its name."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(bundled("report_templates")), followlinks=False),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        finalize=_visible,
    )
    env.filters["num"] = _num
    env.filters["ticks"] = _ticks
    return env


def csp(script: str = "") -> str:
    """No remote loads at all; inline styles and `data:` images only; the one script by its SHA-256."""
    policy = ["default-src 'none'", "style-src 'unsafe-inline'", "img-src data:", "base-uri 'none'",
              "form-action 'none'"]
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        policy.append(f"script-src 'sha256-{digest}'")
    return "; ".join(policy)


def render_document(result: dict[str, Any], limits: Limits, *, script: bool) -> str:
    """The report document with the given caps; `script` adds the optional filter (HTML only)."""
    env = environment()
    model = report_model.build(result, limits)
    model["charts"] = charts.charts(result, model["severity"], limits.heatmap_namespaces, limits.bar_namespaces)
    js = ""
    if script:
        assert env.loader is not None
        js, _, _ = env.loader.get_source(env, SCRIPT)
        if "</" in js:  # the script is ours, but it must never be able to close its element
            raise ValueError(f"{SCRIPT} must not contain '</'")
    return env.get_template(TEMPLATE).render(m=model, csp=Markup(csp(js)), script=Markup(js) if js else "")


def render(result: dict[str, Any]) -> str:
    """The HTML report: one file, readable on a laptop and printable."""
    return render_document(result, HTML_LIMITS, script=True)
