import importlib.util
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop-cluster"


def bench_module(name: str) -> ModuleType:
    """A script of bench/ (gen_cluster, agree, big_result) imported as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run the real CLI in-process; (exit status, stdout, stderr)."""
    from scanner.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


_PEAK_WRAPPER = """
import atexit, sys
def _peak():
    with open('/proc/self/status') as fh:
        hwm = next(line for line in fh if line.startswith('VmHWM:'))
    with open(sys.argv[1], 'w') as out:
        out.write(hwm.split()[1])
atexit.register(_peak)
from scanner.cli import main
sys.exit(main(sys.argv[2:]))
"""


def run_cli_peak(*argv: str, timeout: float = 600) -> tuple[int, str, str, float]:
    """Run the CLI in a fresh interpreter: (exit status, stdout, stderr, peak RSS in MiB). The peak is the
    process's own high-water mark after exec (VmHWM); ru_maxrss of a child would also count the pytest
    process it was forked from."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, peak.name, *map(str, argv)],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, "CI": "true"})
        kib = peak.read().strip()
    return proc.returncode, proc.stdout, proc.stderr, int(kib) / 1024 if kib else float("inf")


def run_json(*argv: str):
    rc, out, err = run_cli(*argv)
    return rc, json.loads(out), err


@pytest.fixture
def write(tmp_path):
    def _write(name: str, text: str) -> str:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return str(p)

    return _write
