#!/usr/bin/env bash
# make demo: the collection's main job on a throwaway local lab.
#
# Two Debian 12 containers stand in for lab machines: demo-conda gets Miniconda at system scope,
# demo-uv gets a uv environment at user scope for the unprivileged login "student". Both take every
# download from the lab mirror on 127.0.0.1 (see tests/harness/README.md for what stands in for what),
# then playbooks/verify.yml checks them and prints a table. `make demo-clean` removes the lab.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
eval "$("$HERE/lab.sh" env)"
DEMO_DIR=$TORCHFLEET_LAB_CACHE/demo
HOSTS=(demo-conda demo-uv)

clean() {
  for host in "${HOSTS[@]}"; do
    podman rm -f -t 0 "$host" >/dev/null 2>&1 || true
  done
  rm -rf "$DEMO_DIR"
  "$HERE/lab.sh" mirror-down
  echo "demo: lab removed (the image and mirror cache stay in $TORCHFLEET_LAB_CACHE; 'tests/harness/lab.sh clean' drops them)"
}

if [[ ${1:-} == clean ]]; then
  clean
  exit 0
fi

"$HERE/lab.sh" up
mkdir -p "$DEMO_DIR"
for host in "${HOSTS[@]}"; do
  if ! podman container exists "$host"; then
    podman run -d --name "$host" --hostname "$host" --network host "$TORCHFLEET_LAB_IMAGE" sleep infinity >/dev/null
  fi
done
podman exec demo-uv sh -c 'id student >/dev/null 2>&1 || useradd -m -s /bin/bash student'

cat > "$DEMO_DIR/inventory.yml" <<INV
all:
  vars:
    ansible_connection: containers.podman.podman
    ansible_python_interpreter: auto_silent
    torchfleet_mirror_url: $TORCHFLEET_MIRROR_URL
    pytorch_version: "$TORCHFLEET_TORCH_VERSION"
    pytorch_python_version: "3.11"
    pytorch_env_packages: [torch]
  hosts:
    demo-conda:
      miniconda_version: $TORCHFLEET_MINICONDA_VERSION
      miniconda_accept_anaconda_tos: true
    demo-uv:
      ansible_user: student
      pytorch_env_manager: uv
      pytorch_env_scope: user
      pytorch_env_uv_version: $TORCHFLEET_UV_VERSION
      pytorch_env_uv_python_downloads: never
INV

cat <<MSG
demo: what stands in for the internet here
  - Miniconda installer  -> the conda stand-in, a TEST DOUBLE with Miniconda's interface ($TORCHFLEET_MIRROR_URL/miniconda/)
  - download.pytorch.org -> the real CPU torch $TORCHFLEET_TORCH_VERSION wheel and its dependencies ($TORCHFLEET_MIRROR_URL/whl/cpu/)
  - uv's GitHub release  -> uv $TORCHFLEET_UV_VERSION repackaged from its PyPI wheel ($TORCHFLEET_MIRROR_URL/uv/)
  - lab machines         -> podman containers of Debian 12 (${HOSTS[*]})
MSG

export ANSIBLE_INJECT_FACT_VARS=false
run_site() {
  local log=$1 start
  start=$(date +%s)
  ansible-playbook -i "$DEMO_DIR/inventory.yml" "$REPO/playbooks/site.yml" | tee "$log" >&2
  echo $(($(date +%s) - start))
}
first=$(run_site "$DEMO_DIR/site-1.log")
second=$(run_site "$DEMO_DIR/site-2.log")
ansible-playbook -i "$DEMO_DIR/inventory.yml" "$REPO/playbooks/verify.yml" \
  -e "torchfleet_verify_report=$DEMO_DIR/verify.md" > "$DEMO_DIR/verify.log"
echo
echo "demo: site.yml took ${first} s; the second run took ${second} s with these changes:"
sed -n '/PLAY RECAP/,$p' "$DEMO_DIR/site-2.log" | grep -o '^[a-z-]* *: .*changed=[0-9]*' | sed 's/ok=.*changed/changed/'
echo "demo: verification (playbooks/verify.yml):"
cat "$DEMO_DIR/verify.md"
