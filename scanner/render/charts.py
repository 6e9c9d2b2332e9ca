"""Inline SVG charts for the auditor report: the namespace reachability heatmap, isolated vs open pods per
namespace, failed findings by severity, and the trend of the last scheduled runs.

Plain SVG text built here (no JavaScript, no external fonts or images), so the same markup prints through
WeasyPrint and shows in any browser. Every label comes from the cluster and is XML-escaped here; the
returned `Markup` is trusted by the templates for that reason. Reads the canonical result only. Colours are
chosen to stay distinguishable in greyscale, and every chart carries numbers, not colour alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from html import escape
from typing import Any

from markupsafe import Markup

from scanner.findings import SEVERITIES

FONT = "DejaVu Sans, Verdana, sans-serif"
SEVERITY_COLOURS = {"critical": "#7f1d1d", "high": "#c2410c", "medium": "#b7791f", "low": "#2b6cb0",
                    "info": "#718096"}
ISOLATED, OPEN, HOSTNET = "#2f855a", "#c53030", "#a0aec0"
ALL_PORTS, SOME_PORTS, NO_PORTS, SELF = "#9b2c2c", "#f6ad55", "#ffffff", "#e2e8f0"


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _svg(width: float, height: float, body: list[str], label: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{_e(label)}" '
            f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
            f'font-family="{FONT}" font-size="11">')
    return Markup(head + "".join(body) + "</svg>")


def _all_ports(ports: Mapping[str, Any]) -> bool:
    return bool(ports) and all(ports.get(p) == "all" for p in ("TCP", "UDP", "SCTP"))


def _ports_text(ports: Mapping[str, Any]) -> str:
    if _all_ports(ports):
        return "all ports"
    return "; ".join(f"{proto} {spec if isinstance(spec, str) else ', '.join(str(x) for x in spec)}"
                     for proto, spec in sorted(ports.items()))


def heatmap_namespaces(result: Mapping[str, Any], cap: int) -> tuple[list[str], int]:
    """The namespaces the heatmap shows (sorted by name) and how many more there are. With more than `cap`,
    the ones involved in the most reachable pairs are kept: the open ones are what an assessor looks for."""
    matrix = result.get("matrix") or {}
    entries = matrix.get("entries") or []
    involvement: Counter[str] = Counter()
    for e in entries:
        involvement[str(e["from"])] += 1
        involvement[str(e["to"])] += 1
    block = matrix.get("open") or {}
    for name in block.get("from") or []:
        involvement[str(name)] += len(block.get("to") or [])
    for name in block.get("to") or []:
        involvement[str(name)] += len(block.get("from") or [])
    for n in (result.get("inventory") or {}).get("namespaces") or []:
        if int(n.get("pods", 0)) > 0:
            involvement[str(n["name"])] += 0
    names = sorted(involvement, key=lambda n: (-involvement[n], n))
    return sorted(names[:cap]), max(0, len(names) - cap)


def heatmap(result: Mapping[str, Any], cap: int) -> tuple[Markup, int, int]:
    """Rows: source namespace; columns: destination; a cell is filled when some pod of the row namespace can
    open a connection to some pod of the column namespace. Returns (svg, namespaces shown, hidden)."""
    names, hidden = heatmap_namespaces(result, cap)
    if not names:
        return Markup(""), 0, hidden
    cells: dict[tuple[str, str], Mapping[str, Any]] = {}
    wanted = set(names)
    matrix = result.get("matrix") or {}
    block = matrix.get("open") or {}
    for a in wanted & {str(x) for x in block.get("from") or []}:
        for b in wanted & {str(x) for x in block.get("to") or []}:
            if a != b:
                cells[(a, b)] = {"TCP": "all", "UDP": "all", "SCTP": "all"}
    for e in matrix.get("entries") or []:
        a, b = str(e["from"]), str(e["to"])
        if a in wanted and b in wanted:
            cells[(a, b)] = e.get("ports") or {}
    n = len(names)
    cell = max(11.0, min(26.0, 520.0 / n))
    fs = max(7.0, min(11.0, cell * 0.55))
    longest = max(len(_short(x, 24)) for x in names)
    label_w = longest * fs * 0.62 + 10
    top = longest * fs * 0.62 * 0.77 + 14  # rotated column labels: text length x sin(50 degrees)
    legend_h = 52.0
    width = label_w + cell * n + 40  # room for the last rotated label
    height = top + cell * n + legend_h
    body = [f'<g font-size="{fs:g}">']
    for j, name in enumerate(names):  # column labels, rotated
        x = label_w + cell * j + cell / 2
        body.append(f'<text transform="translate({x + 3:g},{top - 4:g}) rotate(-50)" text-anchor="start">'
                    f"<title>{_e(name)}</title>{_e(_short(name, 24))}</text>")
    for i, src in enumerate(names):
        y = top + cell * i
        body.append(f'<text x="{label_w - 6:g}" y="{y + cell * 0.68:g}" text-anchor="end">'
                    f"<title>{_e(src)}</title>{_e(_short(src, 24))}</text>")
        for j, dst in enumerate(names):
            x = label_w + cell * j
            if src == dst:
                fill, tip = SELF, f"{src}: same namespace (not judged)"
            elif (src, dst) in cells:
                ports = cells[(src, dst)]
                fill = ALL_PORTS if _all_ports(ports) else SOME_PORTS
                tip = f"{src} → {dst}: {_ports_text(ports)}"
            else:
                fill, tip = NO_PORTS, f"{src} → {dst}: no connection allowed"
            body.append(f'<rect x="{x:g}" y="{y:g}" width="{cell:g}" height="{cell:g}" fill="{fill}" '
                        f'stroke="#cbd5e0" stroke-width="0.5"><title>{_e(tip)}</title></rect>')
    body.append("</g>")
    ly = top + cell * n + 14
    legend = [(ALL_PORTS, "all ports open"), (SOME_PORTS, "some ports"), (NO_PORTS, "nothing allowed"),
              (SELF, "same namespace (not judged)")]
    lx = 0.0
    for colour, text in legend:
        body.append(f'<rect x="{lx:g}" y="{ly:g}" width="12" height="12" fill="{colour}" stroke="#718096" '
                    f'stroke-width="0.5"/><text x="{lx + 16:g}" y="{ly + 10:g}">{_e(text)}</text>')
        lx += 30 + 6.4 * len(text)
    body.append(f'<text x="0" y="{ly + 28:g}" fill="#4a5568">Rows: from namespace. Columns: to namespace.</text>')
    return _svg(max(width, lx), height, body, "Namespace to namespace reachability heatmap"), n, hidden


def isolation_bars(result: Mapping[str, Any], cap: int) -> tuple[Markup, int, int]:
    """Per namespace with pods: two bars (ingress, egress) split into isolated and open pods."""
    nss = [n for n in (result.get("inventory") or {}).get("namespaces") or [] if int(n.get("pods", 0)) > 0]
    nss.sort(key=lambda n: (-int(n["pods"]), str(n["name"])))
    shown = sorted(nss[:cap], key=lambda n: (bool(n.get("system")), str(n["name"])))
    hidden = max(0, len(nss) - cap)
    if not shown:
        return Markup(""), 0, hidden
    label_w, bar_w, row_h, bar_h = 170.0, 360.0, 26.0, 10.0
    width = label_w + bar_w + 130
    top = 22.0
    height = top + row_h * len(shown) + 36
    body = [f'<text x="{label_w:g}" y="12" fill="#4a5568">Share of pods isolated (green) and open (red); '
            "hatched: hostNetwork</text>"]
    body.append('<defs><pattern id="hn" width="4" height="4" patternUnits="userSpaceOnUse" '
                'patternTransform="rotate(45)"><rect width="4" height="4" fill="#ffffff"/>'
                f'<rect width="2" height="4" fill="{HOSTNET}"/></pattern></defs>')
    for i, ns in enumerate(shown):
        y = top + row_h * i
        pods = int(ns["pods"])
        name = str(ns["name"]) + (" (system)" if ns.get("system") else "")
        body.append(f'<text x="{label_w - 8:g}" y="{y + 14:g}" text-anchor="end"><title>{_e(name)}</title>'
                    f"{_e(_short(name, 26))}</text>")
        host = min(int(ns.get("host_network", 0)), pods)
        for k, direction in enumerate(("ingress", "egress")):
            by = y + 1 + k * (bar_h + 1)
            iso = min(int(ns.get(f"{direction}_isolated", 0)), pods)
            w_iso = bar_w * iso / pods
            w_open = bar_w - w_iso
            body.append(f'<rect x="{label_w:g}" y="{by:g}" width="{w_iso:g}" height="{bar_h:g}" fill="{ISOLATED}"/>')
            body.append(f'<rect x="{label_w + w_iso:g}" y="{by:g}" width="{w_open:g}" height="{bar_h:g}" '
                        f'fill="{OPEN}"/>')
            if host:
                w_host = bar_w * host / pods
                body.append(f'<rect x="{label_w + bar_w - w_host:g}" y="{by:g}" width="{w_host:g}" '
                            f'height="{bar_h:g}" fill="url(#hn)" fill-opacity="0.8"/>')
            body.append(f'<text x="{label_w + bar_w + 6:g}" y="{by + 9:g}" font-size="9">'
                        f"{direction[:2]} {iso:,}/{pods:,}</text>")
    ly = top + row_h * len(shown) + 10
    body.append(f'<rect x="{label_w:g}" y="{ly:g}" width="12" height="10" fill="{ISOLATED}"/>'
                f'<text x="{label_w + 16:g}" y="{ly + 9:g}">isolated</text>'
                f'<rect x="{label_w + 90:g}" y="{ly:g}" width="12" height="10" fill="{OPEN}"/>'
                f'<text x="{label_w + 106:g}" y="{ly + 9:g}">open</text>'
                f'<rect x="{label_w + 160:g}" y="{ly:g}" width="12" height="10" fill="url(#hn)"/>'
                f'<text x="{label_w + 176:g}" y="{ly + 9:g}">hostNetwork (never protected)</text>'
                f'<text x="{label_w + bar_w + 6:g}" y="{ly + 9:g}" font-size="9">in: ingress</text>'
                f'<text x="{label_w + bar_w + 6:g}" y="{ly + 20:g}" font-size="9">eg: egress</text>')
    return _svg(width, height, body, "Isolated and open pods per namespace"), len(shown), hidden


def severity_bars(severity: list[Mapping[str, Any]], width: float = 520.0) -> Markup:
    """Failed findings per severity (with waived findings beside them)."""
    label_w, bar_w, row_h = 80.0, width - 80 - 150, 20.0
    top = 4.0
    peak = max([int(s["failed"]) for s in severity] + [1])
    body = []
    for i, s in enumerate(severity):
        y = top + row_h * i
        n = int(s["failed"])
        w = bar_w * n / peak if n else 0
        colour = SEVERITY_COLOURS.get(str(s["name"]), "#718096")
        body.append(f'<text x="{label_w - 8:g}" y="{y + 12:g}" text-anchor="end">{_e(str(s["name"]).capitalize())}'
                    "</text>")
        body.append(f'<rect x="{label_w:g}" y="{y + 2:g}" width="{bar_w:g}" height="13" fill="#edf2f7"/>')
        if w:
            body.append(f'<rect x="{label_w:g}" y="{y + 2:g}" width="{max(w, 1.5):g}" height="13" fill="{colour}"/>')
        extra = f"  ({int(s['waived']):,} waived)" if int(s.get("waived", 0)) else ""
        body.append(f'<text x="{label_w + bar_w + 6:g}" y="{y + 12:g}">{n:,} failed{_e(extra)}</text>')
    height = top + row_h * len(severity) + 4
    return _svg(width, height, body, "Failed findings by severity")


SCORE, INGRESS, EGRESS = "#1a202c", ISOLATED, "#2b6cb0"


def _nice_ceiling(n: int) -> int:
    """The smallest of 1, 2, 5 x 10^k that is at least `n` (and 5 at least): the bar axis top."""
    scale = 1
    while True:
        for m in (1, 2, 5):
            if m * scale >= max(n, 5):
                return m * scale
        scale *= 10


def trend_chart(rows: list[Mapping[str, Any]], width: float = 640.0) -> Markup:
    """The last runs, oldest left (`report_model.trend` rows): above, the posture score (with the grade letter)
    and the shares of pods isolated for ingress and egress, 0-100; below, failed findings stacked by severity
    with their total. Every point has its numbers as a tooltip; the report prints them as a table too."""
    n = len(rows)
    if not n:
        return Markup("")
    left, right = 46.0, 16.0
    plot_w = width - left - right
    step = plot_w / n
    xs = [left + step * (i + 0.5) for i in range(n)]
    top_y, top_h = 26.0, 130.0  # the 0-100 panel
    bar_y, bar_h = top_y + top_h + 34, 110.0  # the findings panel
    rotate = n > 6
    label_h = 64.0 if rotate else 22.0
    height = bar_y + bar_h + label_h + 46
    body = [f'<text x="{left:g}" y="14" fill="#4a5568">Posture score (grade above each point) and pods isolated, '
            "0-100</text>"]
    for v in (0, 25, 50, 75, 100):
        y = top_y + top_h * (1 - v / 100)
        body.append(f'<line x1="{left:g}" x2="{left + plot_w:g}" y1="{y:g}" y2="{y:g}" stroke="#e2e8f0"/>'
                    f'<text x="{left - 6:g}" y="{y + 4:g}" text-anchor="end" font-size="9">{v}</text>')
    series = (("score", SCORE, "", "score"), ("ingress_pct", INGRESS, "6 3", "isolated for ingress"),
              ("egress_pct", EGRESS, "2 3", "isolated for egress"))
    for key, colour, dash, name in series:
        pts = [(x, top_y + top_h * (1 - min(max(float(r[key]), 0.0), 100.0) / 100)) for x, r in zip(xs, rows,
                                                                                                     strict=True)]
        if n > 1:
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dashed} points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        for (x, y), r in zip(pts, rows, strict=True):
            value = f"{float(r[key]):g}" + ("" if key == "score" else "%")
            tip = f"{r['time']}: {name} {value}" + (f" (grade {r['grade']})" if key == "score" else "")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{_e(tip)}</title>'
                        "</circle>")
            if key == "score":
                body.append(f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" font-weight="bold">'
                            f"{_e(_short(str(r['grade']), 3))}</text>")
    peak = _nice_ceiling(max(int(r["failed_total"]) for r in rows))
    body.append(f'<text x="{left:g}" y="{bar_y - 10:g}" fill="#4a5568">Failed findings by severity</text>')
    for v in (0, peak // 2, peak):
        y = bar_y + bar_h * (1 - v / peak)
        body.append(f'<line x1="{left:g}" x2="{left + plot_w:g}" y1="{y:g}" y2="{y:g}" stroke="#e2e8f0"/>'
                    f'<text x="{left - 6:g}" y="{y + 4:g}" text-anchor="end" font-size="9">{v:,}</text>')
    bar_w = min(36.0, step * 0.6)
    for x, r in zip(xs, rows, strict=True):
        y = bar_y + bar_h
        for s in reversed(r["failed"]):  # critical on top
            count = int(s["n"])
            if not count:
                continue
            h = bar_h * count / peak
            y -= h
            body.append(f'<rect x="{x - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                        f'fill="{SEVERITY_COLOURS.get(str(s["name"]), "#718096")}" stroke="#ffffff" '
                        f'stroke-width="0.5"><title>{_e(r["time"])}: {count:,} {_e(s["name"])}</title></rect>')
        body.append(f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="10">'
                    f"{int(r['failed_total']):,}</text>")
        ly = bar_y + bar_h + 14
        label = _e(_short(str(r["label"]), 20))
        weight = ' font-weight="bold"' if r.get("current") else ""
        if rotate:
            body.append(f'<text transform="translate({x + 3:.1f},{ly - 4:g}) rotate(40)" font-size="9"{weight}>'
                        f"<title>{_e(r['time'])}</title>{label}</text>")
        else:
            body.append(f'<text x="{x:.1f}" y="{ly:g}" text-anchor="middle" font-size="9"{weight}>'
                        f"<title>{_e(r['time'])}</title>{label}</text>")
    ly = bar_y + bar_h + label_h + 8
    lx = left
    legend: list[tuple[str, str, str]] = [(SCORE, "", "score"), (INGRESS, "6 3", "ingress isolated"),
                                          (EGRESS, "2 3", "egress isolated")]
    for colour, dash, text in legend:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<line x1="{lx:g}" x2="{lx + 18:g}" y1="{ly + 5:g}" y2="{ly + 5:g}" stroke="{colour}" '
                    f'stroke-width="2"{dashed}/><text x="{lx + 22:g}" y="{ly + 9:g}">{_e(text)}</text>')
        lx += 34 + 6.6 * len(text)
    lx, ly = left, ly + 16
    for sev in SEVERITIES:
        body.append(f'<rect x="{lx:g}" y="{ly:g}" width="10" height="10" fill="{SEVERITY_COLOURS[sev]}"/>'
                    f'<text x="{lx + 13:g}" y="{ly + 9:g}">{_e(sev)}</text>')
        lx += 24 + 6.6 * len(sev)
    return _svg(max(width, lx), height, body, f"Trend of the last {n} runs: posture score, pods isolated and "
                "failed findings by severity")


def charts(result: Mapping[str, Any], severity: list[Mapping[str, Any]], heatmap_cap: int,
           bar_cap: int) -> dict[str, Any]:
    from scanner.render.report_model import trend

    hm, hm_shown, hm_hidden = heatmap(result, heatmap_cap)
    bars, bars_shown, bars_hidden = isolation_bars(result, bar_cap)
    runs = trend(result)
    return {"heatmap": hm, "heatmap_shown": hm_shown, "heatmap_hidden": hm_hidden,
            "bars": bars, "bars_shown": bars_shown, "bars_hidden": bars_hidden,
            "severity": severity_bars(severity), "severities": list(SEVERITIES),
            "trend": trend_chart(runs["rows"]) if runs else Markup("")}
