#!/usr/bin/env bash
# `make bench`'s baseline: a plain script doing what site.yml does on a fresh Debian 12 lab host with
# pytorch_env_manager uv at system scope, from the same mirror, so that the role's first provision can be compared
# with the least a person could type. Run as root on the host (benchmarks/run.py: over SSH, sudo bash -s):
#
#   baseline_provision.sh MIRROR_URL TORCH_VERSION UV_VERSION PYTHON_VERSION
#
# The same steps, in the same order, from the same URLs: download uv's archive and its published .sha256, check it,
# unpack uv into /opt/torchfleet/bin, create /opt/torchfleet/envs/pytorch_env with `uv venv --seed` from the
# mirror's PyPI copy, install torch==VERSION+cpu from the mirror's CPU index with the mirror's PyPI copy as the
# default index (the role's uv command line, plugins/module_utils/_pytorch_env.py uv_install_argv), and import torch
# to check the build. What it leaves out, and the role does: input validation and preflight checks (free space,
# the mirror's reachability), GPU and driver detection (no GPU here: the role skips the driver), the environment
# record and the state probes that make a re-run a no-op, recovery from a half-made install, credentials for a
# private index, and any output a person can read. site.yml deploys no trainers (train.yml does), so neither does
# this script.
set -euo pipefail
mirror=$1 torch=$2 uv_version=$3 python=$4
asset=uv-x86_64-unknown-linux-gnu.tar.gz
cache=/var/cache/torchfleet
bin=/opt/torchfleet/bin
env=/opt/torchfleet/envs/pytorch_env

mkdir -p "$cache" "$bin" "$(dirname "$env")"
# python3's urllib, as the role's get_url does: the lab image has no curl or wget.
fetch() { python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"; }
fetch "$mirror/uv/$uv_version/$asset" "$cache/$asset"
fetch "$mirror/uv/$uv_version/$asset.sha256" "$cache/$asset.sha256"
echo "$(cut -d' ' -f1 "$cache/$asset.sha256")  $cache/$asset" | sha256sum --check --quiet
unpack=$(mktemp -d)
tar -xzf "$cache/$asset" -C "$unpack" --strip-components=1
install -m 0755 "$unpack/uv" "$bin/uv"
rm -rf "$unpack"
export UV_PYTHON_DOWNLOADS=never
"$bin/uv" venv --python "$python" --seed --default-index "$mirror/pypi/simple" "$env"
"$bin/uv" pip install --python "$env/bin/python" --index-strategy first-index --index "$mirror/whl/cpu" \
  --default-index "$mirror/pypi/simple" "torch==$torch+cpu"
"$env/bin/python" -c 'import torch; print("torch", torch.__version__)'
