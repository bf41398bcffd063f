#!/usr/bin/env bash
# Smoke test of the lab, run inside a lab container started with --network host (lab.sh verify):
# the container reaches the host's mirror, and pip and uv both install torch from its whl/cpu index.
# usage: verify_in_container.sh MIRROR_URL TORCH_VERSION UV_VERSION
set -euo pipefail
mirror=$1 torch_version=$2 uv_version=$3
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1

step_start=0
SECONDS=0
step() { step_start=$(date +%s.%N); printf '\n== %s\n' "$*"; }
elapsed() { python3 -c 'import sys, time; print(f"   {time.time() - float(sys.argv[1]):.1f} s")' "$step_start"; }

step "fetch manifest.json and the uv archive with python3 urllib; check the archive's sha256"
python3 - "$mirror" "$uv_version" <<'EOF'
import hashlib
import json
import sys
import tarfile
import urllib.request

mirror, uv_version = sys.argv[1], sys.argv[2]
manifest = json.load(urllib.request.urlopen(f"{mirror}/manifest.json", timeout=10))
print(f"   manifest lists {len(manifest['files'])} files")
base = f"{mirror}/uv/{uv_version}/uv-x86_64-unknown-linux-gnu.tar.gz"
data = urllib.request.urlopen(base, timeout=60).read()
want = urllib.request.urlopen(base + ".sha256", timeout=10).read().decode().split()[0]
assert hashlib.sha256(data).hexdigest() == want, "uv archive sha256 mismatch"
with open("/tmp/uv.tar.gz", "wb") as handle:
    handle.write(data)
with tarfile.open("/tmp/uv.tar.gz") as tar:
    names = sorted(tar.getnames())
    assert "uv-x86_64-unknown-linux-gnu/uv" in names and "uv-x86_64-unknown-linux-gnu/uvx" in names, names
    tar.extractall("/tmp")
print("   uv archive ok:", names)
EOF
elapsed

# torch and its dependencies from whl/cpu, numpy (not one of them) from pypi/simple: the mirror role publishes each
# build's index as download.pytorch.org lays it out, and everything else in pypi/simple (docs/mirror.md).
step "pip: python3 -m venv, then pip install --index-url $mirror/whl/cpu --extra-index-url $mirror/pypi/simple torch==$torch_version numpy"
python3 -m venv /tmp/venv-pip
/tmp/venv-pip/bin/pip install -q --index-url "$mirror/whl/cpu" --extra-index-url "$mirror/pypi/simple" \
  "torch==$torch_version" numpy
/tmp/venv-pip/bin/python -c 'import torch; print("   torch", torch.__version__); assert torch.tensor([1.0, 2.0]).sum().item() == 3.0'
elapsed

step "pip: upgrade pip from $mirror/pypi/simple"
/tmp/venv-pip/bin/pip install -q --index-url "$mirror/pypi/simple" --upgrade pip setuptools wheel uv
/tmp/venv-pip/bin/pip --version
elapsed

step "uv $uv_version (from the release archive): uv venv, then uv pip install torch==$torch_version numpy"
uv=/tmp/uv-x86_64-unknown-linux-gnu/uv
"$uv" --version
"$uv" venv -q --python /usr/bin/python3 /tmp/venv-uv
"$uv" pip install -q --python /tmp/venv-uv/bin/python --index-url "$mirror/whl/cpu" \
  --extra-index-url "$mirror/pypi/simple" "torch==$torch_version" numpy
/tmp/venv-uv/bin/python -c 'import torch; print("   torch", torch.__version__)'
elapsed

printf '\nverify: all checks passed in %d s\n' "$SECONDS"
