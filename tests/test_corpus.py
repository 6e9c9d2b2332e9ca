"""The bad-input corpus (tests/corpus/cases.yaml): every file has one expected outcome, checked through the
real CLI. A new file without a case fails the suite, so nothing in the corpus goes untested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli, run_cli_peak

CORPUS = ROOT / "tests" / "corpus"
CASES: dict[str, dict[str, object]] = yaml.safe_load((CORPUS / "cases.yaml").read_text())
OUTCOMES = {"error", "invalid", "accepted"}


def _files() -> set[str]:
    return {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file() and p.name != "cases.yaml"}


def test_every_file_has_exactly_one_expected_outcome():
    assert set(CASES) == _files()
    for name, case in CASES.items():
        assert len(OUTCOMES & set(case)) == 1, name


def _scan(path: Path, out: Path) -> tuple[int, list[str], dict | None]:
    rc, stdout, err = run_cli("scan", str(path), "--format", "json", "-o", str(out))
    assert rc != 2 or stdout == ""
    assert "Traceback" not in err and "internal error" not in err, err
    result = out / "netpol-audit.json"
    return rc, err.splitlines(), json.loads(result.read_text()) if result.exists() else None


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name, tmp_path):
    case, path = CASES[name], CORPUS / name
    rc, lines, result = _scan(path, tmp_path / "out")
    if "error" in case:
        # one line naming the file (and, where there is one, the document, object and field), exit status 2
        assert rc == 2 and result is None, lines
        assert len(lines) == 1, lines
        prefix = f"netpol-audit: error: {path}"
        assert lines[0] in (f"{prefix}: {case['error']}", f"{prefix} {case['error']}"), lines[0]
    elif "invalid" in case:
        field, reason = case["invalid"], case["reason"]
        assert rc == 1 and result is not None, lines
        assert lines == [f"netpol-audit: warning: {path} (document 2, line 5): NetworkPolicy shop/p: {field}: "
                         f"{reason} (invalid: left out of the analysis, see NP026)"]
        [np026] = [f for f in result["findings"] if f["rule"] == "NP026" and f["status"] == "FAIL"]
        assert np026["subject"] == {"kind": "NetworkPolicy", "namespace": "shop", "name": "p"}
        assert np026["evidence"]["problems"] == [{"field": field, "reason": reason}]
        assert (np026["location"]["document"], np026["location"]["line"]) == (2, 5)
        assert result["summary"]["result"] == "fail"
    else:
        assert rc in (0, 1) and result is not None, lines
        assert not any(": error:" in ln for ln in lines), lines
        expected_warning = case.get("warning")
        assert (expected_warning is not None) == bool(lines), lines
        if expected_warning:
            assert len(lines) == 1 and str(expected_warning) in lines[0], lines


def test_the_corpus_stays_small_and_never_hangs(tmp_path):
    """Bounded memory and time: each case in a fresh interpreter, its peak RSS measured after exec (VmHWM),
    within a deadline; a hang fails the test by its timeout."""
    peaks = {}
    for name in sorted(CASES):
        rc, _, err, peak = run_cli_peak("scan", CORPUS / name, "--format", "json", "-o", tmp_path, "-q", timeout=120)
        expected = {2} if "error" in CASES[name] else {1} if "invalid" in CASES[name] else {0, 1}
        assert rc in expected and "Traceback" not in err, (name, rc, err)
        peaks[name] = peak
    worst = max(peaks, key=peaks.__getitem__)
    assert peaks[worst] < 150, (worst, peaks[worst])
