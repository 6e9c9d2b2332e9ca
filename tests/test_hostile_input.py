"""Input a careless user or an attacker would give: one clear line, exit 2, never a traceback or a crash.
(Each case comes from a review of the CLI as a new user.)"""

import json

import pytest
from conftest import EXAMPLE, run_cli, run_cli_peak

from scanner.collect.snapshot import digest


def one_line_error(rc, out, err, expected):
    assert rc == 2, (rc, err)
    assert "Traceback" not in err and "internal error" not in err
    assert err.count("\n") == 1, err
    assert expected in err, err


def test_deep_nesting_is_refused_before_the_parser(write):
    path = write("deep.yaml", "[" * 50_000 + "]" * 50_000 + "\n")
    one_line_error(*run_cli("isolation", path), "refused: nested 50000 levels deep (the limit is 200)")


def test_duplicate_keys_are_refused_like_kubectl(write):
    path = write("dup.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {}\nmetadata: {name: b}\n")
    one_line_error(*run_cli("isolation", path), "line 5 column 1: duplicate key 'metadata'")


@pytest.mark.parametrize("content", ["", "# nothing\n", "---\n---\n"])
def test_empty_input_never_passes(write, content):
    path = write("empty.yaml", content)
    one_line_error(*run_cli("scan", path), "no Kubernetes objects: nothing to analyse")


def test_only_unused_kinds_never_passes(write):
    path = write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n")
    one_line_error(*run_cli("scan", path), "only objects of kinds the analysis does not use (v1/ConfigMap x1)")


def test_directory_walk_skips_files_that_are_not_manifests(tmp_path):
    (tmp_path / "Chart.yaml").write_text("name: chart\nversion: 1.0.0\n")
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n")
    rc, out, err = run_cli("isolation", tmp_path, "-o", "json")
    assert rc == 0 and [p["name"] for p in json.loads(out)["pods"]] == ["a"]
    assert "Chart.yaml: not a Kubernetes manifest (no apiVersion/kind), skipped" in err
    # named explicitly, the same file is an error
    one_line_error(*run_cli("isolation", tmp_path / "Chart.yaml"), "object has no kind")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("provenance", [5], "provenance[0]: must be [file, document, line, namespace_defaulted] or null"),
        ("source", "x", "source: must be an object"),
        ("collection", [1], "collection: must be an object"),
        ("skipped_kinds", {"a": "b"}, "skipped_kinds: counts must be whole numbers"),
        ("objects", [{"kind": "Pod"}], "objects[0]: not an object of a kind snapshots keep"),
        ("objects", [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}],
         "objects[0].metadata.namespace: a namespaced object needs metadata.namespace"),
    ],
)
def test_snapshot_with_a_recomputed_digest_but_bad_fields(tmp_path, field, value, expected):
    snap = tmp_path / "s.json"
    run_cli("snapshot", EXAMPLE, "-o", snap)
    content = json.loads(snap.read_text())
    content[field] = value
    content["sha256"] = digest(content)
    snap.write_text(json.dumps(content))
    for cmd in (["isolation", snap], ["scan", snap], ["reach", snap, "--from", "a/b", "--to", "c/d", "--port", "1"]):
        one_line_error(*run_cli(*cmd), expected)


def test_bad_date_in_a_waiver(write):
    path = write("c.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n")
    cfg = write("cfg.yaml", "waivers:\n  - {rule: NP004, subject: x, reason: r, owner: o, expires: 2027-13-45}\n")
    one_line_error(*run_cli("scan", path, "--config", cfg), "invalid value: month must be in 1..12")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.update(summary="x"), "summary: not a valid netpol-audit result"),
        (lambda r: r["findings"].__setitem__(0, {}), "findings[0]: not a valid netpol-audit result"),
        (lambda r: r["findings"][0].update(severity="bogus"), "findings[0].severity: not a valid"),
        (lambda r: r.pop("run"), "not a valid netpol-audit result: 'run' is a required property"),
        (lambda r: r.update(schema_version=99), "unsupported result schema_version 99"),
    ],
)
@pytest.mark.parametrize("fmt", ["md", "sarif", "csv", "html"])
def test_report_from_refuses_what_is_not_a_result(tmp_path, mutate, expected, fmt):
    out = tmp_path / "scan"
    assert run_cli("scan", EXAMPLE, "-o", out, "--format", "json", "-q", "--fail-on", "none")[0] == 0
    result = json.loads((out / "netpol-audit.json").read_text())
    mutate(result)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(result))
    rc, out_text, err = run_cli("report", "--from", bad, "--format", fmt, "-o", tmp_path / f"x.{fmt}")
    one_line_error(rc, out_text, err, expected.split(": ", 1)[-1])
    assert str(bad) in err


def test_queries_refuse_unknown_and_contradictory_fields(write):
    path = write("c.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n---\n"
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\n")
    q = write("q.yaml", "- {from: x/a, to: x/b, port: 80, prot: UDP}\n")
    one_line_error(*run_cli("reach", path, "--queries", q), "query 0: prot: unknown field(s) prot")
    q = write("q.yaml", "- {from: x/a, to: x/b, port: 80/UDP, protocol: TCP}\n")
    one_line_error(*run_cli("reach", path, "--queries", q), "query 0: protocol: port '80/UDP' and protocol 'TCP'")


def test_scan_namespace_filter_does_not_move_namespaceless_objects(write):
    path = write("c.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: loose}\n---\n"
                           "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: payments}\n")
    _, out, _ = run_cli("scan", path, "-n", "payments", "--format", "json", "--fail-on", "none")
    subjects = {(f["subject"]["namespace"], f["subject"]["name"]) for f in json.loads(out)["findings"]}
    assert ("payments", "loose") not in subjects and ("payments", "p") in subjects


def test_publish_needs_a_live_cluster_and_is_checked_first():
    one_line_error(*run_cli("scan", EXAMPLE, "--publish-policyreports"), "use with a live cluster")


def test_framework_list_accepts_commas():
    rc, out, _ = run_cli("scan", EXAMPLE, "--framework", "pci-dss,cis-kubernetes", "--format", "json",
                         "--fail-on", "none")
    assert rc == 0
    assert sorted(f["id"] for f in json.loads(out)["frameworks"]) == ["cis-kubernetes", "pci-dss-4.0.1"]


def test_an_unexpected_bug_is_one_line_and_exit_4(monkeypatch, write):
    path = write("c.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n")
    import scanner.queries

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(scanner.queries, "isolation", boom)
    rc, _, err = run_cli("isolation", path)
    assert rc == 4 and err.count("\n") == 1 and "Traceback" not in err
    assert "internal error: ZeroDivisionError: simulated bug" in err


def test_max_depth_is_configurable(write):
    path = write("nested.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {}}\n"
                                "spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n")
    assert run_cli("isolation", path)[0] == 0
    one_line_error(*run_cli("isolation", path, "--max-depth", "2"), "nested 5 levels deep (the limit is 2)")
    one_line_error(*run_cli("scan", path, "--max-depth", "2"), "nested 5 levels deep")


def test_yaml_alias_bomb_is_refused(write):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = write("bomb.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                              "metadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n"
                              + "".join(f"  {ln}\n" for ln in levels))
    one_line_error(*run_cli("snapshot", path, "-o", "-"), "YAML aliases expand it beyond 100000 nodes")


def test_ordinary_anchors_still_work(write):
    path = write("anchors.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x\n"
                                 "  labels: &l {app: web}\n---\napiVersion: networking.k8s.io/v1\n"
                                 "kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n"
                                 "spec: {podSelector: {matchLabels: {app: web}}}\n")
    rc, out, _ = run_cli("isolation", path, "-o", "json")
    assert rc == 0 and '"ingress_isolated": true' in out


def test_alias_expansion_limit_is_configurable(write):
    """The document expands to 30 nodes (ten labels, counted twice through the alias, and ten others):
    allowed by default and by a limit above that count, refused by one below it."""
    path = write("anchors.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: x\n"
                                 "  labels: &l {" + ", ".join(f"k{i}: v" for i in range(10)) + "}\n"
                                 "spec: {nodeSelector: *l}\n")
    assert run_cli("isolation", path)[0] == 0
    assert run_cli("isolation", path, "--max-alias-nodes", "40")[0] == 0
    one_line_error(*run_cli("isolation", path, "--max-alias-nodes", "20"),
                   "document 1: refused: YAML aliases expand it beyond 20 nodes (an alias bomb?)")


def test_usage_errors_are_one_line():
    import subprocess
    import sys as _sys

    for argv in (["isolation"], ["scan", "--format"], ["-n", "team", "isolation", "x"], ["nope"]):
        p = subprocess.run([_sys.executable, "-m", "scanner", *argv], capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, argv
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("netpol-audit: error: netpol-audit"), p.stderr
        assert "Traceback" not in p.stderr


def _peak_rss_mb(argv: list[str]) -> tuple[int, str, float]:
    rc, _, err, peak = run_cli_peak(*argv)
    return rc, err, peak


def test_multi_gigabyte_file_is_refused_before_it_is_read(tmp_path):
    """A 3 GiB file (sparse: nothing is written to disk) is refused by its size, in one line, exit 2, without
    reading it: the process stays small."""
    big = tmp_path / "huge.json"
    with open(big, "wb") as fh:
        fh.truncate(3 << 30)
    rc, err, rss = _peak_rss_mb(["isolation", str(big)])
    assert rc == 2
    assert err.strip() == (f"netpol-audit: error: {big}: 3221225472 bytes, larger than the limit of 1073741824 "
                           "bytes (see --max-file-size)")
    assert rss < 200


def test_compressed_bomb_is_cut_at_the_limit(tmp_path):
    """A gzip file that inflates to 200 MiB of zeros, with --max-file-size 10MB (MiB): refused after reading at most
    the limit, with bounded memory."""
    import zlib

    bomb = tmp_path / "bomb.json.gz"
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    chunk = b"\0" * (1 << 20)
    with open(bomb, "wb") as fh:
        for _ in range(200):
            fh.write(z.compress(chunk))
        fh.write(z.flush())
    assert bomb.stat().st_size < 1 << 20
    rc, err, rss = _peak_rss_mb(["isolation", str(bomb), "--max-file-size", "10MB"])
    assert rc == 2
    assert err.strip() == f"netpol-audit: error: {bomb}: larger than the limit of 10485760 bytes (see --max-file-size)"
    assert rss < 200


def test_terminal_text_spells_out_controls_and_bidi():
    from scanner.textsafe import one_line, visible

    assert visible("a\u202eb\x1b[2J\x9b\u2066c\td\n") == "a\\u202eb\\u001b[2J\\u009b\\u2066c\td\n"
    assert visible("plain ünïcode, 日本") == "plain ünïcode, 日本"
    assert one_line("a\nb\rc\u200f") == "a\\nb\\rc\\u200f"


def test_a_warning_quoting_hostile_text_stays_one_line(write, tmp_path):
    """A file name is the one thing the API never validated: a directory walk that skips it quotes it."""
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "x\u202e\x1b[2J\nerror: fake.yaml").write_text("just: config\n")
    (d / "pod.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    rc, _, err = run_cli("isolation", str(d))
    assert rc == 0
    [line] = err.splitlines()
    assert line.startswith("netpol-audit: warning: ") and "x\\u202e\\u001b[2J\\nerror: fake.yaml" in line


@pytest.mark.parametrize("command", [("snapshot", "--verify"), ("scan",)])
def test_a_damaged_gzip_stream_is_one_line_not_a_traceback(tmp_path, command):
    import gzip

    data = bytearray(gzip.compress(b'{"kind": "List", "apiVersion": "v1", "items": []}' * 200))
    data[20] ^= 0xFF  # inside the deflate stream: the header stays valid
    data[21] ^= 0xFF
    path = tmp_path / "snap.json.gz"
    path.write_bytes(bytes(data))
    one_line_error(*run_cli(*command, str(path)), "cannot read: damaged compressed data")
