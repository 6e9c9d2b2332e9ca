"""Audit the image's locked dependencies (deploy/requirements.lock) for known vulnerabilities with pip-audit,
and refuse to call a run a pass when it checked nothing.

pip-audit reports "No known vulnerabilities found" and exits 0 even when every package was skipped because its
vulnerability service could not be asked (seen here: with PyPI's JSON API unreachable, all 47 packages carry a
`skip_reason`). That is a false pass, the one outcome an audit tool must not give. This gate reads pip-audit's
JSON report instead of its exit status:

    exit 0  every locked package was checked and none has a known vulnerability
    exit 1  a known vulnerability (each printed with its ID and the versions that fix it)
    exit 3  incomplete: a package could not be checked, or pip-audit could not run at all; with
            --allow-incomplete this prints the same warning and exits 0 (for CI without internet access)

Usage: python deploy/tools/audit_deps.py [--pip-audit PATH] [--lock FILE] [--allow-incomplete]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_VULNERABLE, EXIT_INCOMPLETE = 0, 1, 3


def evaluate(report: dict[str, Any]) -> tuple[int, list[str]]:
    """The verdict and the lines to print for one pip-audit JSON report."""
    deps = report.get("dependencies")
    if not isinstance(deps, list) or not deps:
        return EXIT_INCOMPLETE, ["dependency audit INCOMPLETE: pip-audit listed no dependencies"]
    lines, vulnerable, skipped = [], 0, []
    for dep in deps:
        if dep.get("skip_reason"):
            skipped.append(f"{dep.get('name')}: {dep['skip_reason']}")
            continue
        for v in dep.get("vulns") or []:
            vulnerable += 1
            fixed = ", ".join(v.get("fix_versions") or []) or "no fixed version yet"
            aliases = f" ({', '.join(v['aliases'])})" if v.get("aliases") else ""
            lines.append(f"VULNERABLE {dep['name']} {dep.get('version')}: {v.get('id')}{aliases}; fixed in {fixed}")
    checked = len(deps) - len(skipped)
    if vulnerable:
        lines.append(f"dependency audit FAILED: {vulnerable} known vulnerabilit{'y' if vulnerable == 1 else 'ies'} "
                     f"in {len(deps)} locked packages")
        return EXIT_VULNERABLE, lines
    if skipped:
        lines += [f"  not checked: {s}" for s in skipped[:5]]
        if len(skipped) > 5:
            lines.append(f"  ... and {len(skipped) - 5} more")
        lines.append(f"dependency audit INCOMPLETE: {len(skipped)} of {len(deps)} locked packages could not be "
                     "checked (is the vulnerability service reachable?); this is not a pass")
        return EXIT_INCOMPLETE, lines
    lines.append(f"dependency audit passed: {checked} locked packages checked, no known vulnerabilities")
    return EXIT_OK, lines


def run(pip_audit: str, lock: Path) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [pip_audit, "-r", str(lock), "--require-hashes", "--disable-pip", "--progress-spinner", "off",
               "-f", "json", "-o", str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            return EXIT_INCOMPLETE, [f"dependency audit INCOMPLETE: pip-audit did not run ({e})"]
        if not out.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return EXIT_INCOMPLETE, [f"dependency audit INCOMPLETE: pip-audit failed (exit {proc.returncode}): {last}"]
        return evaluate(json.loads(out.read_text()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pip-audit", default=str(ROOT / ".venv-audit" / "bin" / "pip-audit"))
    ap.add_argument("--lock", type=Path, default=ROOT / "deploy" / "requirements.lock")
    ap.add_argument("--report", type=Path, help="judge an existing pip-audit JSON report instead of running it")
    ap.add_argument("--allow-incomplete", action="store_true",
                    help="exit 0 when packages could not be checked (the warning is still printed)")
    args = ap.parse_args(argv)
    if args.report:
        code, lines = evaluate(json.loads(args.report.read_text()))
    else:
        code, lines = run(args.pip_audit, args.lock)
    for line in lines:
        print(line, file=sys.stderr if code else sys.stdout)
    if code == EXIT_INCOMPLETE and args.allow_incomplete:
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
