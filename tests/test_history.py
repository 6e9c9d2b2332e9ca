"""Scheduled runs: `scan --archive-dir` compares each run with the previous one (`drift`) and follows the last
runs (`history`); `scan --previous` compares with a given result or snapshot. Through the real CLI."""

import gzip
import json

import pytest
from conftest import ROOT, run_cli

DRIFT = ROOT / "examples" / "drift"
OLD, NEW = DRIFT / "2026-05-01.snapshot.json", DRIFT / "2026-11-01.snapshot.json"
RUNS = (("2026-01-01T00:00:00Z", OLD), ("2026-02-01T00:00:00Z", NEW), ("2026-03-01T00:00:00Z", NEW))
NAMES = ["20260101T000000Z", "20260201T000000Z", "20260301T000000Z"]
NO_CONNECTION_CHANGE = {"became_allowed": [], "became_denied": []}
NO_FINDING_CHANGE = {"new": [], "resolved": [], "severity_changed": []}
NO_POLICY_CHANGE = {"added": [], "removed": [], "changed": [], "became_invalid": [], "became_valid": []}
ZERO = {k: 0 for k in ("namespace_connections_opened", "namespace_connections_closed", "workload_connections_opened",
                       "workload_connections_closed", "findings_new", "findings_resolved", "findings_severity_changed",
                       "policies_added", "policies_removed", "policies_changed", "policies_became_invalid",
                       "policies_became_valid")}
# the posture of the two drift snapshots (tests/test_diff.py asserts the changes between them)
FAILED_OLD = {"critical": 0, "high": 32, "medium": 23, "low": 11, "info": 1}
FAILED_NEW = {"critical": 0, "high": 33, "medium": 26, "low": 13, "info": 1}


def _scan(archive, when, snapshot, *extra):
    rc, _, err = run_cli("scan", snapshot, "--archive-dir", archive, "--timestamp", when, "--fail-on", "none",
                         "--format", "json,html,md", *extra)
    assert rc == 0, err
    assert "Traceback" not in err
    return err


def _result(archive, name):
    return json.loads((archive / name / "netpol-audit.json").read_text())


def _but_result(posture):
    """A posture without its verdict: `diff` scans with the default --fail-on high, these runs with none."""
    return {k: v for k, v in posture.items() if k != "result"}


def _diff(old, new):
    rc, out, err = run_cli("diff", old, new, "--format", "json")
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Three scheduled runs: the May snapshot, then the November one twice."""
    base = tmp_path_factory.mktemp("history") / "archive"
    for when, snapshot in RUNS:
        _scan(base, when, snapshot, "-q")
    return base


def test_the_first_run_has_nothing_to_compare(archive):
    drift = _result(archive, NAMES[0])["drift"]
    assert drift["previous"] is None and drift["changed"] is False
    assert drift["counts"] == ZERO and drift["posture"]["before"] is None
    assert drift["findings"] == NO_FINDING_CHANGE and drift["policies"] == NO_POLICY_CHANGE
    assert [h["run"] for h in _result(archive, NAMES[0])["history"]] == [NAMES[0]]


def test_the_second_run_reports_what_diff_reports_for_the_same_snapshots(archive):
    result = _result(archive, NAMES[1])
    drift = result["drift"]
    expected = _diff(OLD, NEW)
    assert drift["previous"] == {"source": "archive", "run": NAMES[0], "path": None,
                                 "started_at": "2026-01-01T00:00:00Z", "inputs": expected["old"]["inputs"]}
    assert expected["old"]["inputs"] == [f"{OLD} (snapshot of shop-cluster)"]
    assert drift["changed"] is True and drift["incomplete"] == [] and drift["skipped"] == []
    # the namespace level from the two results; the workload level from the archived snapshot and this model
    assert drift["connections"] == expected["connections"]
    assert drift["connections"]["namespace"] == NO_CONNECTION_CHANGE
    assert drift["connections"]["workload"] == {"computed": True, "became_allowed": [], "became_denied": [
        {"from": "shop/Deployment/api", "to": "shop-db/Deployment/redis", "ports": {"TCP": ["6379"]},
         "now": "none"}]}
    assert drift["findings"] == expected["findings"]
    assert [(f["severity"], f["rule"], f["subject"]) for f in drift["findings"]["new"]] == [
        ("high", "NP015", "Deployment/shop/catalog"), ("medium", "NP013", "NetworkPolicy/shop/catalog"),
        ("medium", "NP014", "NetworkPolicy/shop/catalog"), ("medium", "NP022", "NetworkPolicy/shop/search"),
        ("low", "NP020", "NetworkPolicy/shop/search"), ("low", "NP027", "NetworkPolicy/shop/search")]
    assert drift["findings"]["resolved"] == [] and drift["findings"]["severity_changed"] == []
    assert drift["policies"] == expected["policies"]
    assert (drift["policies"]["added"], drift["policies"]["removed"]) == (["shop/search"], [])
    assert [(c["policy"], c["fields"]) for c in drift["policies"]["changed"]] == [("shop/api", ["egress"]),
                                                                                 ("shop/catalog", ["egress"])]
    assert drift["counts"] == {**ZERO, "workload_connections_closed": 1, "findings_new": 6, "policies_added": 1,
                               "policies_changed": 2}
    assert _but_result(drift["posture"]["before"]) == _but_result(expected["old"]["posture"])
    assert _but_result(drift["posture"]["after"]) == _but_result(expected["new"]["posture"])
    assert drift["posture"]["before"]["result"] == drift["posture"]["after"]["result"] == "pass"
    assert (drift["posture"]["before"]["failed_by_severity"], drift["posture"]["after"]["failed_by_severity"]) == (
        FAILED_OLD, FAILED_NEW)


def test_the_third_run_on_the_same_input_has_an_empty_drift(archive):
    drift = _result(archive, NAMES[2])["drift"]
    assert drift["previous"]["run"] == NAMES[1] and drift["previous"]["started_at"] == "2026-02-01T00:00:00Z"
    assert drift["changed"] is False and drift["counts"] == ZERO
    assert drift["connections"] == {"namespace": NO_CONNECTION_CHANGE,
                                    "workload": {"computed": True, **NO_CONNECTION_CHANGE}}
    assert drift["findings"] == NO_FINDING_CHANGE and drift["policies"] == NO_POLICY_CHANGE
    assert drift["posture"]["before"] == drift["posture"]["after"]


def test_the_history_follows_the_runs_in_order_with_this_run_last(archive):
    result = _result(archive, NAMES[2])
    history = result["history"]
    assert [(h["run"], h["started_at"], h["grade"], h["score"], h["policies"]) for h in history] == [
        (NAMES[0], "2026-01-01T00:00:00Z", "F", 42.4, 24), (NAMES[1], "2026-02-01T00:00:00Z", "F", 41.4, 25),
        (NAMES[2], "2026-03-01T00:00:00Z", "F", 41.4, 25)]
    assert [h["failed_by_severity"] for h in history] == [FAILED_OLD, FAILED_NEW, FAILED_NEW]
    assert [(h["ingress_isolated_share"], h["egress_isolated_share"], h["pods"]) for h in history] == [
        (0.7, 0.6, 20)] * 3
    # this run's entry is its own posture, as the next run's drift will see it
    assert {k: v for k, v in history[-1].items() if k not in ("run", "started_at")} == \
        result["drift"]["posture"]["after"]
    # and each earlier entry is what that run said of itself
    assert history[:2] == _result(archive, NAMES[1])["history"]


def test_the_report_shows_the_changes_and_the_trend(archive):
    html = (archive / NAMES[1] / "netpol-audit.html").read_text()
    section = html[html.index('<section class="chapter changes" id="changes">'):html.index('id="limitations"')]
    assert '<a href="#changes">Changes since last scan</a>' in html
    assert "Compared with the scan of <b>2026-01-01 00:00:00 UTC</b> (archived run <code>20260101T000000Z</code>)" \
        in section
    assert "<h2 id=\"changes-findings-new\">New failing findings (6)</h2>" in section
    assert "<h2 id=\"changes-workload-closed\">Connections closed between workloads (1)</h2>" in section
    assert "<td>shop/Deployment/api</td><td>shop-db/Deployment/redis</td><td>TCP 6379</td><td>none</td>" in section
    assert "<td>added</td><td>shop/search</td>" in section and "<td>changed</td><td>shop/api</td><td>egress</td>" \
        in section
    assert "<tr class=\"ch-worse\"><td>Posture grade</td><td>F (42.4)</td><td>F (41.4)</td><td>worse</td></tr>" \
        in section
    assert 'aria-label="Trend of the last 2 runs: posture score, pods isolated and failed findings by severity"' \
        in section
    assert "<td>2026-02-01 00:00:00 UTC (this run)</td><td>F (41.4)</td><td class=\"num\">70.0%</td>" in section
    first = (archive / NAMES[0] / "netpol-audit.html").read_text()
    assert "First run: no earlier scan to compare." in first and "Trend of the last 1 run" in first
    third = (archive / NAMES[2] / "netpol-audit.html").read_text()
    assert "<b>no change</b>" in third and "Trend of the last 3 run(s)" in third
    md = (archive / NAMES[1] / "netpol-audit.md").read_text()
    assert ("### Changes since last scan\n\nChanges since the scan of 2026-01-01 00:00:00 UTC (archived run "
            "20260101T000000Z): grade F (42.4) → F (41.4); 6 new and 0 resolved failing finding(s)") in md
    assert "| high | NP015 | Deployment/shop/catalog |" in md


def test_the_pdf_has_the_section_in_its_contents_and_the_trend_table(archive, tmp_path):
    import re
    import shutil
    import subprocess

    pdf = tmp_path / "report.pdf"
    rc, _, err = run_cli("report", "--from", archive / NAMES[2] / "netpol-audit.json", "--format", "pdf", "-o", pdf)
    assert rc == 0, err
    text = re.sub(r"\s+", " ", subprocess.run([shutil.which("pdftotext"), "-layout", str(pdf), "-"], check=True,
                                              capture_output=True, text=True).stdout)
    assert re.search(r"Changes since last scan \.+ \d+ Trend of the last runs \.+ \d+", text)
    assert "no change: the same connections, findings, policies and posture" in text
    assert "Trend of the last 3 run(s)" in text
    assert "2026-01-01 00:00:00 UTC F (42.4) 70.0% 60.0% 0 32 23 11 1 67" in text
    assert "F (41.4) 70.0% 60.0% 0 33 26 13 1 73" in text and "(this run)" in text


def test_report_from_the_archived_json_re_renders_the_same_bytes(archive, tmp_path):
    for name in NAMES:
        for fmt in ("html", "md"):
            again = tmp_path / f"{name}.{fmt}"
            rc, _, err = run_cli("report", "--from", archive / name / "netpol-audit.json", "--format", fmt,
                                 "-o", again)
            assert rc == 0, err
            assert again.read_bytes() == (archive / name / f"netpol-audit.{fmt}").read_bytes(), (name, fmt)


def test_a_scan_without_archive_or_previous_has_no_drift_section(tmp_path):
    rc, _, err = run_cli("scan", NEW, "-o", tmp_path, "--format", "json,html", "--fail-on", "none", "-q")
    assert rc == 0, err
    result = json.loads((tmp_path / "netpol-audit.json").read_text())
    assert "drift" not in result and "history" not in result
    assert 'id="changes"' not in (tmp_path / "netpol-audit.html").read_text()


def test_archived_results_are_the_same_bytes_in_another_archive(archive, tmp_path):
    other = tmp_path / "elsewhere"
    for when, snapshot in RUNS[:2]:
        _scan(other, when, snapshot, "-q")
    for ext in ("json", "html"):
        assert (other / NAMES[1] / f"netpol-audit.{ext}").read_bytes() == \
            (archive / NAMES[1] / f"netpol-audit.{ext}").read_bytes()


def test_keep_prunes_after_the_drift_and_the_trend_shows_what_stays(tmp_path):
    base = tmp_path / "archive"
    days = [f"2026-01-0{d}T00:00:00Z" for d in range(1, 5)]
    for when, snapshot in zip(days, (OLD, OLD, NEW, NEW), strict=True):
        _scan(base, when, snapshot, "-q", "--keep", "2")
    assert sorted(p.name for p in base.iterdir()) == ["20260103T000000Z", "20260104T000000Z", "latest"]
    third, fourth = _result(base, "20260103T000000Z"), _result(base, "20260104T000000Z")
    assert third["drift"]["previous"]["run"] == "20260102T000000Z" and third["drift"]["counts"]["findings_new"] == 6
    assert [h["run"] for h in third["history"]] == ["20260102T000000Z", "20260103T000000Z"]
    assert [h["run"] for h in fourth["history"]] == ["20260103T000000Z", "20260104T000000Z"]
    # --keep 1: the run before is still compared with, then pruned; the trend is this run alone
    _scan(base, "2026-01-05T00:00:00Z", OLD, "-q", "--keep", "1")
    assert sorted(p.name for p in base.iterdir()) == ["20260105T000000Z", "latest"]
    fifth = _result(base, "20260105T000000Z")
    assert fifth["drift"]["previous"]["run"] == "20260104T000000Z"
    assert fifth["drift"]["findings"]["resolved"] == _diff(NEW, OLD)["findings"]["resolved"]
    assert [h["run"] for h in fifth["history"]] == ["20260105T000000Z"]


def test_trend_limits_the_history(tmp_path):
    base = tmp_path / "archive"
    for day in range(1, 5):
        _scan(base, f"2026-01-0{day}T00:00:00Z", NEW, "-q", "--trend", "3")
    assert [h["run"] for h in _result(base, "20260104T000000Z")["history"]] == [
        "20260102T000000Z", "20260103T000000Z", "20260104T000000Z"]
    rc, _, err = run_cli("scan", NEW, "-o", tmp_path / "out", "--trend", "3")
    assert rc == 2 and err == ("netpol-audit: error: --trend: the trend follows the runs of an archive: give "
                               "--archive-dir DIR\n")
    with pytest.raises(SystemExit) as e:
        run_cli("scan", NEW, "--archive-dir", base, "--trend", "0")
    assert e.value.code == 2


def test_the_archive_always_holds_the_json_result(tmp_path):
    base = tmp_path / "archive"
    _scan(base, "2026-01-01T00:00:00Z", OLD, "-q")
    rc, _, err = run_cli("scan", NEW, "--archive-dir", base, "--timestamp", "2026-01-02T00:00:00Z", "--format",
                         "html", "--fail-on", "none", "-q")
    assert rc == 0, err
    assert sorted(p.name for p in (base / "20260102T000000Z").iterdir()) == [
        "netpol-audit.html", "netpol-audit.json", "snapshot.json.gz"]
    assert _result(base, "20260102T000000Z")["drift"]["counts"]["findings_new"] == 6


@pytest.mark.parametrize(("content", "reason"), [
    (b"{not json", "invalid JSON"),
    (b'{"a": 1}', "not a netpol-audit scan result"),
    (None, "no netpol-audit.json"),
    ("untitled", "not a netpol-audit scan result (KeyError: 'title')"),
    ("no input", "not a netpol-audit scan result (KeyError: 'input')"),
])
def test_an_unreadable_previous_result_is_left_out_with_a_warning(tmp_path, content, reason):
    base = tmp_path / "archive"
    _scan(base, "2026-01-01T00:00:00Z", OLD, "-q")
    _scan(base, "2026-01-02T00:00:00Z", NEW, "-q")
    broken = base / "20260102T000000Z" / "netpol-audit.json"
    if content is None:
        broken.unlink()
    elif content in ("untitled", "no input"):
        doc = json.loads(broken.read_text())
        if content == "untitled":
            del next(f for f in doc["findings"] if f["status"] == "FAIL")["title"]
        else:
            del doc["run"]["input"]
        broken.write_text(json.dumps(doc))
    else:
        broken.write_bytes(content)
    err = _scan(base, "2026-01-03T00:00:00Z", NEW)
    assert f"netpol-audit: warning: archived run {broken}: {reason}" in err
    assert err.count("archived run") == 1  # read once for the drift and the trend
    drift = _result(base, "20260103T000000Z")["drift"]
    # the newest readable run is compared with instead, and the drift says which and what was left out
    assert drift["previous"]["run"] == "20260101T000000Z" and drift["counts"]["findings_new"] == 6
    assert [s["run"] for s in drift["skipped"]] == ["20260102T000000Z"] and \
        drift["skipped"][0]["reason"].startswith(reason)
    history = _result(base, "20260103T000000Z")["history"]
    assert [h["run"] for h in history] == ["20260101T000000Z", "20260103T000000Z"]
    html = (base / "20260103T000000Z" / "netpol-audit.html").read_text()
    assert "Archived runs left out (their result could not be read): 20260102T000000Z: " in html


@pytest.mark.parametrize("damage", ["json", "gzip"])
def test_an_unreadable_archived_snapshot_leaves_the_drift_at_namespace_level(tmp_path, damage):
    base = tmp_path / "archive"
    _scan(base, "2026-01-01T00:00:00Z", OLD, "-q")
    snapshot = base / "20260101T000000Z" / "snapshot.json.gz"
    data = snapshot.read_bytes()
    snapshot.write_bytes(gzip.compress(b"[1, 2") if damage == "json" else data[:20] + bytes(200) + data[220:])
    err = _scan(base, "2026-01-02T00:00:00Z", NEW)
    assert "netpol-audit: warning: archived snapshot" in err and "the drift is at namespace level" in err
    workload = _result(base, "20260102T000000Z")["drift"]["connections"]["workload"]
    assert workload["computed"] is False and workload["note"].startswith(
        "not computed: the previous run's snapshot could not be read")
    assert _result(base, "20260102T000000Z")["drift"]["counts"]["findings_new"] == 6


def test_a_previous_run_without_its_snapshot_is_compared_at_namespace_level(tmp_path):
    base = tmp_path / "archive"
    _scan(base, "2026-01-01T00:00:00Z", OLD, "-q")
    (base / "20260101T000000Z" / "snapshot.json.gz").unlink()
    _scan(base, "2026-01-02T00:00:00Z", NEW, "-q")
    drift = _result(base, "20260102T000000Z")["drift"]
    assert drift["connections"]["workload"] == {
        "computed": False, "became_allowed": [], "became_denied": [],
        "note": "not computed: the previous run's snapshot.json.gz is not in the archive"}
    assert drift["findings"] == _diff(OLD, NEW)["findings"]


def test_previous_takes_a_snapshot_and_compares_at_both_levels(tmp_path):
    rc, _, err = run_cli("scan", NEW, "--previous", OLD, "-o", tmp_path, "--format", "json", "--fail-on", "none",
                         "-q")
    assert rc == 0, err
    result = json.loads((tmp_path / "netpol-audit.json").read_text())
    drift, expected = result["drift"], _diff(OLD, NEW)
    assert drift["previous"] == {"source": "file", "path": str(OLD), "run": None, "started_at": "2026-05-01T00:00:00Z",
                                 "inputs": expected["old"]["inputs"]}
    assert drift["connections"] == expected["connections"] and drift["connections"]["workload"]["computed"] is True
    assert drift["findings"] == expected["findings"] and drift["policies"] == expected["policies"]
    assert _but_result(drift["posture"]["before"]) == _but_result(expected["old"]["posture"])
    assert "history" not in result


def test_previous_takes_a_json_result_at_namespace_level(tmp_path):
    rc, _, err = run_cli("scan", OLD, "-o", tmp_path / "old", "--format", "json", "--fail-on", "none", "-q",
                         "--timestamp", "2026-05-01T02:00:00Z")
    assert rc == 0, err
    old_json = tmp_path / "old" / "netpol-audit.json"
    rc, out, err = run_cli("scan", NEW, "--previous", old_json, "--format", "text", "--fail-on", "none")
    assert rc == 0, err
    assert ("changes since the scan of 2026-05-01 02:00:00 UTC (" + str(old_json) + "): grade F (42.4) -> F (41.4); "
            "6 new and 0 resolved failing finding(s), 0 changed severity; 3 policy changes; namespace connections 0 "
            "opened, 0 closed\n") in out
    rc, _, err = run_cli("scan", NEW, "--previous", old_json, "-o", tmp_path / "new", "--format", "json",
                         "--fail-on", "none", "-q")
    assert rc == 0, err
    drift = json.loads((tmp_path / "new" / "netpol-audit.json").read_text())["drift"]
    expected = _diff(OLD, NEW)
    assert drift["previous"]["started_at"] == "2026-05-01T02:00:00Z" and drift["previous"]["source"] == "file"
    assert drift["connections"]["namespace"] == expected["connections"]["namespace"]
    assert drift["connections"]["workload"] == {
        "computed": False, "became_allowed": [], "became_denied": [],
        "note": "a JSON result holds no workload-level connections: give snapshots for them"}
    assert drift["findings"] == expected["findings"] and drift["policies"] == expected["policies"]


def test_previous_is_scanned_with_this_runs_options(tmp_path):
    """With the shop namespace left out, the six new findings (all in shop) are neither new nor resolved: the
    previous snapshot is scanned with the same scope, so only the cluster's changes show."""
    rc, _, err = run_cli("scan", NEW, "--previous", OLD, "--exclude-namespace", "shop", "-o", tmp_path, "--format",
                         "json", "--fail-on", "none", "-q")
    assert rc == 0, err
    drift = json.loads((tmp_path / "netpol-audit.json").read_text())["drift"]
    assert drift["findings"] == NO_FINDING_CHANGE


def test_an_unreadable_previous_file_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"findings": [], "summary": {}, "run": {}, "matrix": {}}')
    rc, _, err = run_cli("scan", NEW, "--previous", bad, "--fail-on", "none", "-q")
    assert rc == 2 and err.startswith(f"netpol-audit: error: {bad}: ") and "not a valid netpol-audit result" in err
    assert err.count("\n") == 1


def test_hostile_values_in_the_drift_and_the_history_are_escaped(archive, tmp_path):
    doc = _result(archive, NAMES[1])
    doc["drift"]["findings"]["new"][0]["message"] = "<script>alert(1)</script>"
    doc["drift"]["previous"]["run"] = '"><img src=x onerror=alert(1)>'
    doc["drift"]["policies"]["added"] = ["shop/<b>x</b>"]
    doc["history"][0]["started_at"] = "<svg onload=alert(1)>"
    src = tmp_path / "hostile.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "hostile.html"
    rc, _, err = run_cli("report", "--from", src, "--format", "html", "-o", out)
    assert rc == 0, err
    html = out.read_text()
    for raw in ("<script>alert", "<img src=x", "<b>x</b>", "<svg onload"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;svg onload=alert(1)&gt;" in html
    md = run_cli("report", "--from", src, "--format", "md", "-o", "-")[1]
    assert "<script>" not in md and "&lt;script&gt;" in md
