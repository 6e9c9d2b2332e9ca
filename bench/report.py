"""Report rendering at scale: HTML and PDF render time, size and page count.

    python bench/report.py            # the demo result and a synthetic 100k-pod / 20,000-finding result
    python bench/report.py --write    # and record the table in docs/benchmarks.md

Each render runs in its own process (CPU and peak RSS via wait4), on the same machine in one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def _child(fmt: str, src: str, out: str) -> None:
    result = json.loads(Path(src).read_text())
    if fmt == "pdf":
        from scanner.render.pdf import render_pdf

        render_pdf(result, out)
    else:
        from scanner.render.html import render

        Path(out).write_text(render(result), encoding="utf-8")


def measure(fmt: str, src: str, out: str) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", fmt, src, out])
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"rendering {fmt} failed")
    m = {"cpu": ru.ru_utime + ru.ru_stime, "wall": time.perf_counter() - t0, "rss_mb": ru.ru_maxrss / 1024,
         "size_kb": Path(out).stat().st_size / 1024, "pages": 0.0}
    if fmt == "pdf":
        info = subprocess.run(["pdfinfo", out], capture_output=True, text=True).stdout
        m["pages"] = float(next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")), 0))
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(*a.child)
        return 0
    from big_result import big_result

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "scanner", "scan", str(ROOT / "examples" / "shop-cluster"),
                        "--config", str(ROOT / "examples" / "netpol-audit.yaml"), "-o", tmp, "--format", "json",
                        "-q", "--fail-on", "none"], check=True)
        demo = json.loads(Path(tmp, "netpol-audit.json").read_text())
        big = Path(tmp, "big.json")
        big.write_text(json.dumps(big_result(demo)))
        for label, src in (("demo (20 workloads, 76 failing findings)", f"{tmp}/netpol-audit.json"),
                           ("synthetic: 100k pods, 2,000 namespaces, 20,000 findings", str(big))):
            for fmt in ("html", "pdf"):
                m = measure(fmt, src, f"{tmp}/out.{fmt}")
                rows.append((label, fmt, m))
                print(f"{label:58s} {fmt:4s} cpu {m['cpu']:6.1f}s wall {m['wall']:6.1f}s rss {m['rss_mb']:6.0f} MB "
                      f"size {m['size_kb']:8.0f} KB pages {int(m['pages'])}")
    if a.write:
        table = ["| result | format | CPU s | wall s | peak RSS MB | size KB | PDF pages |",
                 "|---|---|---:|---:|---:|---:|---:|"]
        table += [f"| {lbl} | {fmt} | {m['cpu']:.1f} | {m['wall']:.1f} | {m['rss_mb']:.0f} | {m['size_kb']:.0f} | "
                  f"{int(m['pages']) if fmt == 'pdf' else ''} |" for lbl, fmt, m in rows]
        block = ("<!-- report -->\n### Report rendering (HTML and PDF)\n\n"
                 f"`python bench/report.py --write` on {dt.date.today().isoformat()}, {platform.machine()}, "
                 f"{os.cpu_count()} cores. The PDF groups and caps detail (full lists stay in the JSON, attached "
                 "to the PDF, and the CSV).\n\n" + "\n".join(table) + "\n<!-- /report -->")
        doc = ROOT / "docs" / "benchmarks.md"
        text = doc.read_text()
        if "<!-- report -->" in text:
            text = text[: text.index("<!-- report -->")] + block + text[text.index("<!-- /report -->") + 16:]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        doc.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
