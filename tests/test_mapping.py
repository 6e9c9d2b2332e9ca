"""Requirement status from rule outcomes: no requirement passes on checks that could not have failed."""

import pytest

from scanner.mapping import Framework, Requirement, evaluate


def outcome(fail=(), info=(), waived=(), passes=0, error=False):
    return {"fail": list(fail), "fail_info": list(info), "waived": list(waived), "pass": passes, "error": error}


FW = Framework("t", "Test", "1", "", "", "", (
    Requirement("R1", "two rules", ("NP001", "NP002"), "direct", "why"),
    Requirement("R2", "manual", (), "supporting", ""),
))


@pytest.mark.parametrize(
    ("outcomes", "complete", "expected"),
    [
        # both rules only NOT_APPLICABLE: nothing could have failed -> not assessed, never PASS
        ({"NP001": outcome(), "NP002": outcome()}, True, "NOT_ASSESSED"),
        ({"NP001": outcome(passes=3), "NP002": outcome()}, True, "PASS"),
        ({"NP001": outcome(passes=3), "NP002": outcome(fail=["f1"])}, True, "FAIL"),
        # an info-level observation alone never decides: the requirement stays manual
        ({"NP001": outcome(info=["i1"]), "NP002": outcome()}, True, "NOT_ASSESSED"),
        # a waived failure is judged, not failed
        ({"NP001": outcome(waived=["w1"]), "NP002": outcome()}, True, "PASS"),
        ({"NP001": outcome(passes=1, error=True), "NP002": outcome(fail=["f"])}, True, "ERROR"),
        # incomplete collection: a pass cannot be claimed, a failure still shows
        ({"NP001": outcome(passes=3), "NP002": outcome(passes=1)}, False, "ERROR"),
        ({"NP001": outcome(fail=["f"]), "NP002": outcome()}, False, "FAIL"),
        # a disabled rule (absent) contributes nothing
        ({"NP002": outcome()}, True, "NOT_ASSESSED"),
    ],
)
def test_requirement_status(outcomes, complete, expected):
    res = evaluate(FW, outcomes, complete, plugin_inert=False)
    r1, r2 = res["requirements"]
    assert r1["status"] == expected
    assert r2["status"] == "NOT_ASSESSED"


def test_plugin_that_enforces_nothing_makes_passes_not_effective():
    res = evaluate(FW, {"NP001": outcome(passes=1), "NP002": outcome(passes=1)}, True, plugin_inert=True)
    assert (res["requirements"][0]["status"], res["requirements"][0]["effective"]) == ("PASS", False)


def test_score_and_coverage():
    res = evaluate(FW, {"NP001": outcome(passes=1), "NP002": outcome()}, True, plugin_inert=False)
    assert (res["score"], res["coverage"], res["counts"]) == (
        100.0, 50.0, {"PASS": 1, "FAIL": 0, "ERROR": 0, "NOT_ASSESSED": 1})
