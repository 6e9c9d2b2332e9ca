"""Harness for the table-driven semantic tests (one case per point of SEMANTICS.md).

Runs the real CLI in-process (`scanner.cli.main`) on a manifest written to `tmp_path`, parses its JSON and
compares whole records with expectations derived by hand from SEMANTICS.md and docs/cli-contract.md.
Never derive an expectation here or in a case table by running the engine.

Case tables use two compact shapes:

* an expected pod: `(endpoint, ingress_isolated, egress_isolated, ingress_policies, egress_policies)` with an
  optional sixth item `host_network` (default False) and seventh, the pair (`ingress_isolated_by_tier`,
  `egress_isolated_by_tier`) (default both None). `endpoint` is `ns/name` for a Pod or `ns/Kind/name`
  for a workload template.
* a probe: `(from, to, port, protocol, allowed, egress_allowed, ingress_allowed)` with an optional eighth item,
  a substring the explanation must contain. `protocol=None` leaves it out of the query (it defaults to TCP,
  and the answer must say "TCP").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from semantics.sem_support import pod_record

REACH_KEYS = {
    "from",
    "to",
    "port",
    "protocol",
    "allowed",
    "egress_allowed",
    "ingress_allowed",
    "explanation",
}


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def stderr_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def _pod_key(record: dict[str, Any]) -> tuple[str, str, str]:
    return (record.get("namespace", ""), record.get("kind", ""), record.get("name", ""))


class Sem:
    """Runs `netpol-audit isolation|reach` in-process and checks exact records."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path = tmp_path
        self.capsys = capsys

    # -- running -------------------------------------------------------------------------------------------
    def write(self, text: str, name: str = "cluster.yaml") -> Path:
        path = self.tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, argv: list[str]) -> CliResult:
        from scanner.cli import main

        self.capsys.readouterr()  # drop anything printed before
        try:
            returned = main(argv)
        except SystemExit as exc:  # argparse and sys.exit-style CLIs
            returned = exc.code
        captured = self.capsys.readouterr()
        if returned is None:
            code = 0
        elif isinstance(returned, int):
            code = returned
        else:  # sys.exit("message") means status 1
            code = 1
        return CliResult(code=code, out=captured.out, err=captured.err)

    def isolation(self, inputs: list[str], extra: list[str] | tuple[str, ...] = ()) -> CliResult:
        return self.run(["isolation", *inputs, *extra, "-o", "json"])

    def reach(
        self, inputs: list[str], probes: list[tuple[Any, ...]], extra: list[str] | tuple[str, ...] = ()
    ) -> CliResult:
        queries = []
        for probe in probes:
            query: dict[str, Any] = {"from": probe[0], "to": probe[1], "port": probe[2]}
            if probe[3] is not None:
                query["protocol"] = probe[3]
            queries.append(query)
        qfile = self.tmp_path / "queries.yaml"
        qfile.write_text(yaml.safe_dump(queries, sort_keys=False), encoding="utf-8")
        return self.run(["reach", *inputs, *extra, "--queries", str(qfile), "-o", "json"])

    # -- checking ------------------------------------------------------------------------------------------
    @staticmethod
    def assert_no_traceback(result: CliResult) -> None:
        assert "Traceback" not in result.err, f"traceback on stderr:\n{result.err}"
        assert "Traceback" not in result.out, f"traceback on stdout:\n{result.out}"

    @staticmethod
    def parse_json(result: CliResult, what: str) -> Any:
        try:
            return json.loads(result.out)
        except ValueError as exc:
            raise AssertionError(
                f"{what}: stdout is not JSON ({exc}); exit {result.code}\n"
                f"stdout:\n{result.out}\nstderr:\n{result.err}"
            ) from exc

    def check_isolation(
        self,
        inputs: list[str],
        *,
        pods: list[tuple[Any, ...]],
        ignored: list[tuple[str, str, str, str]] = (),  # type: ignore[assignment]
        invalid: list[tuple[str, str, str, tuple[str, ...]]] = (),  # type: ignore[assignment]
        args: list[str] | tuple[str, ...] = (),
        invalid_file: str | None = None,
    ) -> dict[str, Any]:
        result = self.isolation(inputs, args)
        self.assert_no_traceback(result)
        expected_code = 2 if invalid else 0
        data = self.parse_json(result, "isolation")
        assert result.code == expected_code, (
            f"isolation exit status {result.code}, expected {expected_code}; stderr:\n{result.err}"
        )
        assert isinstance(data, dict), data
        assert data.get("schema_version") == 1, data.get("schema_version")
        for key in ("pods", "ignored", "invalid_policies"):
            assert key in data, f"isolation JSON lacks {key!r}: keys {sorted(data)}"

        # pods: whole records, exact, in contract order (namespace, kind, name)
        expected = sorted((pod_record(p) for p in pods), key=_pod_key)
        got = data["pods"]
        problems: list[str] = []
        got_by_key = {_pod_key(r): r for r in got}
        exp_by_key = {_pod_key(r): r for r in expected}
        for key, record in exp_by_key.items():
            if key not in got_by_key:
                problems.append(f"missing pod {key}: expected {record}")
            elif got_by_key[key] != record:
                problems.append(f"pod {key}:\n    expected {record}\n    got      {got_by_key[key]}")
        for key, record in got_by_key.items():
            if key not in exp_by_key:
                problems.append(f"unexpected pod {key}: {record}")
        assert not problems, "isolation pods differ:\n  " + "\n  ".join(problems)
        assert got == expected, "isolation pods are not sorted by (namespace, kind, name)"

        # ignored: (namespace, name, kind) exact, reason names the phase
        got_ignored = sorted(data["ignored"], key=lambda r: (r.get("namespace"), r.get("name")))
        exp_ignored = sorted(ignored, key=lambda r: (r[0], r[1]))
        assert [(r.get("namespace"), r.get("name"), r.get("kind")) for r in got_ignored] == [
            (ns, name, kind) for ns, name, kind, _ in exp_ignored
        ], f"ignored differs: {data['ignored']}"
        for record, (_, _, _, must_contain) in zip(got_ignored, exp_ignored, strict=True):
            assert must_contain in str(record.get("reason", "")), f"ignored reason: {record}"

        # invalid_policies: namespace/name exact; field starts with the expected path; the field or the
        # reason mentions the offending keyword; file names the input; one stderr line per policy
        got_invalid = sorted(data["invalid_policies"], key=lambda r: (r.get("namespace"), r.get("name")))
        exp_invalid = sorted(invalid, key=lambda r: (r[0], r[1]))
        assert [(r.get("namespace"), r.get("name")) for r in got_invalid] == [
            (ns, name) for ns, name, _, _ in exp_invalid
        ], f"invalid_policies differs: {data['invalid_policies']}"
        for record, (_, name, field_prefix, keywords) in zip(got_invalid, exp_invalid, strict=True):
            field = str(record.get("field", ""))
            reason = str(record.get("reason", ""))
            assert field.startswith(field_prefix), (
                f"{name}: field {field!r} should start with {field_prefix!r}"
            )
            assert reason.strip(), f"{name}: empty reason: {record}"
            text = f"{field} {reason}".lower()
            for keyword in keywords:
                assert keyword.lower() in text, (
                    f"{name}: neither field nor reason mentions {keyword!r}: {record}"
                )
            if invalid_file is not None:  # the contract fixes no format; it must name the input file
                assert invalid_file in str(record.get("file", "")), f"{name}: file {record.get('file')!r}"
            lines = [line for line in result.stderr_lines() if name in line]
            assert len(lines) == 1, f"{name}: expected one stderr line naming it, got {lines!r}"
        return data

    def check_reach(
        self,
        inputs: list[str],
        probes: list[tuple[Any, ...]],
        *,
        args: list[str] | tuple[str, ...] = (),
        codes: tuple[int, ...] = (0,),
    ) -> None:
        result = self.reach(inputs, probes, args)
        self.assert_no_traceback(result)
        data = self.parse_json(result, "reach")
        assert result.code in codes, (
            f"reach exit status {result.code}, expected {codes}; stderr:\n{result.err}"
        )
        assert isinstance(data, list), data
        assert len(data) == len(probes), f"{len(data)} answers for {len(probes)} queries: {data}"
        problems: list[str] = []
        for probe, record in zip(probes, data, strict=True):
            src, dst, port, protocol, allowed, egress_allowed, ingress_allowed, *rest = probe
            expected = {
                "from": src,
                "to": dst,
                "port": port,
                "protocol": protocol if protocol is not None else "TCP",
                "allowed": allowed,
                "egress_allowed": egress_allowed,
                "ingress_allowed": ingress_allowed,
            }
            label = f"{src} -> {dst} {port}/{protocol or 'TCP(default)'}"
            if set(record) != REACH_KEYS:
                problems.append(f"{label}: keys {sorted(record)} != {sorted(REACH_KEYS)}")
            explanation = record.get("explanation")
            got = {k: v for k, v in record.items() if k != "explanation"}
            if got != expected:
                diff = {k: (expected.get(k), got.get(k)) for k in expected if expected.get(k) != got.get(k)}
                problems.append(f"{label}: (expected, got) {diff}; explanation: {explanation!r}")
            if not isinstance(explanation, str) or not explanation.strip():
                problems.append(f"{label}: explanation must be a non-empty string, got {explanation!r}")
            elif rest and rest[0].lower() not in explanation.lower():
                problems.append(f"{label}: explanation should mention {rest[0]!r}: {explanation!r}")
        assert not problems, "reach answers differ:\n  " + "\n  ".join(problems)

    def check(
        self,
        manifest: str,
        *,
        pods: list[tuple[Any, ...]],
        probes: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
        ignored: list[tuple[str, str, str, str]] = (),  # type: ignore[assignment]
        invalid: list[tuple[str, str, str, tuple[str, ...]]] = (),  # type: ignore[assignment]
        args: list[str] | tuple[str, ...] = (),
        filename: str = "cluster.yaml",
    ) -> None:
        path = self.write(manifest, filename)
        self.check_isolation(
            [str(path)], pods=pods, ignored=ignored, invalid=invalid, args=args, invalid_file=filename
        )
        if probes:
            # The contract ties exit 2 for invalid policies to `isolation`; `reach` may answer 0 or 2 then.
            codes = (0, 2) if invalid else (0,)
            self.check_reach([str(path)], list(probes), args=args, codes=codes)


@pytest.fixture
def sem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Sem:
    return Sem(tmp_path, capsys)
