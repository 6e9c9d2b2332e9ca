"""Snapshots: written, re-read as input, verified, tamper-evident, reproducible."""

import gzip
import hashlib
import json

from conftest import EXAMPLE, run_cli, run_json


def test_snapshot_roundtrip_gives_same_results(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    snap = tmp_path / "snap.json"
    rc, _, err = run_cli("snapshot", EXAMPLE, "-o", snap)
    assert rc == 0 and f"wrote {snap}" in err
    content = json.loads(snap.read_text())
    assert content["format"] == "netpol-audit-snapshot"
    assert content["format_version"] == 1
    assert content["created_at"] == "2023-11-14T22:13:20Z"
    assert content["source"] == {"type": "manifests", "inputs": [str(EXAMPLE)]}
    assert content["collection"] == {"complete": True, "problems": []}
    direct = run_json("isolation", EXAMPLE, "-o", "json")[1]
    via = run_json("isolation", snap, "-o", "json")[1]
    assert via == direct
    assert run_json("matrix", snap, "--level", "pod", "-o", "json")[1] == \
        run_json("matrix", EXAMPLE, "--level", "pod", "-o", "json")[1]


def test_snapshot_digest_is_recomputable_without_the_tool(tmp_path):
    snap = tmp_path / "s.json"
    run_cli("snapshot", EXAMPLE, "-o", snap)
    content = json.loads(snap.read_text())
    recorded = content.pop("sha256")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == recorded


def test_verify_and_tampering(tmp_path):
    snap = tmp_path / "s.json"
    run_cli("snapshot", EXAMPLE, "-o", snap)
    rc, out, _ = run_cli("snapshot", "--verify", snap)
    assert rc == 0 and out.startswith(f"OK {snap}: sha256 ")
    content = json.loads(snap.read_text())
    pod = next(o for o in content["objects"] if o["kind"] == "NetworkPolicy")
    pod["spec"]["podSelector"] = {"matchLabels": {"app": "nothing"}}
    snap.write_text(json.dumps(content))
    rc, _, err = run_cli("snapshot", "--verify", snap)
    assert rc == 1 and "changed after it was written" in err
    rc, _, err = run_cli("isolation", snap)
    assert rc == 2 and "sha256 mismatch" in err and "Traceback" not in err


def test_gzip_snapshot_is_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    run_cli("snapshot", EXAMPLE, "-o", a)
    run_cli("snapshot", EXAMPLE, "-o", b)
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(gzip.decompress(a.read_bytes()))["format"] == "netpol-audit-snapshot"
    assert run_cli("snapshot", "--verify", a)[0] == 0
    assert run_json("isolation", a, "-o", "json")[1] == run_json("isolation", EXAMPLE, "-o", "json")[1]


def test_snapshot_keeps_no_secret_configmap_or_env(tmp_path, write):
    path = write("in.yaml", """apiVersion: v1
kind: Secret
metadata: {name: s, namespace: x}
data: {password: aHVudGVyMg==}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x, annotations: {secret-note: hunter2}}
spec:
  containers:
  - name: c
    image: registry.example/app:1
    env: [{name: PASSWORD, value: hunter2}]
    command: [run, --password=hunter2]
""")
    snap = tmp_path / "s.json"
    assert run_cli("snapshot", path, "-o", snap)[0] == 0
    text = snap.read_text()
    assert "hunter2" not in text and "aHVudGVyMg" not in text and "registry.example" not in text
    assert json.loads(text)["skipped_kinds"] == {"v1/Secret": 1}


def test_incomplete_collection_is_never_silent(tmp_path):
    snap = tmp_path / "s.json"
    run_cli("snapshot", EXAMPLE, "-o", snap)
    content = json.loads(snap.read_text())
    content["collection"] = {"complete": False, "problems": [{"kind": "Pod", "reason": "403 Forbidden"}]}
    from scanner.collect.snapshot import digest

    content["sha256"] = digest(content)
    snap.write_text(json.dumps(content))
    rc, out, err = run_cli("isolation", snap, "-o", "json")
    assert rc == 3
    assert "collection is incomplete (Pod: 403 Forbidden)" in err
    assert json.loads(out)["pods"]
