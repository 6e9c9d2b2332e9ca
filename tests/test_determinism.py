"""Same input, same bytes: two scheduled runs (or one run with its files in another order) diff cleanly."""

import random
import shutil

from conftest import EXAMPLE, run_cli


def _copy_shuffled(dest, seed):
    """The example's documents, split one per file and the files named in a shuffled order."""
    import yaml

    docs = []
    for f in sorted(EXAMPLE.rglob("*.yaml")):
        if f.name == "README.md":
            continue
        for d in yaml.safe_load_all(f.read_text()):
            if isinstance(d, dict):
                items = d["items"] if d.get("kind") == "List" else [d]
                docs += items
    rng = random.Random(seed)
    rng.shuffle(docs)
    dest.mkdir()
    for i, d in enumerate(docs):
        (dest / f"{rng.randrange(10**6):06d}-{i}.yaml").write_text(yaml.safe_dump(d))
    return dest


def _scan(src, out):
    rc, _, err = run_cli("scan", src, "-o", out, "--format", "json,sarif,html,md,csv,junit", "--timestamp",
                         "2026-01-01T00:00:00Z", "--fail-on", "none", "-q")
    assert rc == 0, err


def _without_locations(text):
    # file names and lines legitimately differ between the two layouts; everything else must not
    import re

    return re.sub(r'"(file|uri)": "[^"]*"|"(line|startLine|document)": \d+', "", text)


def test_shuffled_input_gives_identical_results(tmp_path):
    a = _copy_shuffled(tmp_path / "a", 1)
    b = _copy_shuffled(tmp_path / "b", 2)
    _scan(a, tmp_path / "out-a")
    _scan(b, tmp_path / "out-b")
    for name in ("netpol-audit.json", "netpol-audit.sarif"):
        ja = (tmp_path / "out-a" / name).read_text().replace(str(a), "SRC")
        jb = (tmp_path / "out-b" / name).read_text().replace(str(b), "SRC")
        assert _without_locations(ja) == _without_locations(jb), name


def test_same_input_twice_is_byte_identical(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(EXAMPLE, src)
    _scan(src, tmp_path / "one")
    _scan(src, tmp_path / "two")
    for f in sorted((tmp_path / "one").iterdir()):
        assert f.read_bytes() == (tmp_path / "two" / f.name).read_bytes(), f.name


def test_files_given_in_another_order_give_identical_bytes_in_every_format(tmp_path):
    """The same files named on the command line in two shuffled orders: JSON, SARIF, HTML, Markdown, CSV and
    JUnit are byte for byte the same (the time fixed with --timestamp)."""
    src = _copy_shuffled(tmp_path / "src", 3)
    files = sorted(str(p) for p in src.iterdir())
    outputs = []
    for seed in (1, 2):
        order = files[:]
        random.Random(seed).shuffle(order)
        assert order != files
        out = tmp_path / f"out-{seed}"
        rc, _, err = run_cli("scan", *order, "-o", out, "--format", "json,sarif,html,md,csv,junit", "--timestamp",
                             "2026-01-01T00:00:00Z", "--fail-on", "none", "-q")
        assert rc == 0, err
        outputs.append({f.name: f.read_bytes() for f in sorted(out.iterdir())})
    assert sorted(outputs[0]) == ["netpol-audit.csv", "netpol-audit.html", "netpol-audit.json",
                                  "netpol-audit.junit.xml", "netpol-audit.md", "netpol-audit.sarif"]
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], name
