#!/usr/bin/env bash
# The mirror role's lab: playbooks/mirror.yml builds and serves a mirror in the container tf-m-mirror from files
# the controller has, twice (the second run must change nothing), then the pytorch_env role provisions
# tf-m-client, which sits on an internal podman network (no gateway) with the mirror as its only peer.
#
#   tests/harness/mirror_lab.sh [up|run|down|all]     (default: all = down, up, run, down)
#
# Needs the lab image (make lab) and the lab mirror directory (LAB_MIRROR, default .cache/lab/mirror), which it
# only reads. Writes the controller's download cache to LAB_CACHE (default build/mirror-lab-cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB_MIRROR=${LAB_MIRROR:-$PWD/.cache/lab/mirror}
export LAB_CACHE=${LAB_CACHE:-$PWD/build/mirror-lab-cache}
export ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true
export ANSIBLE_INJECT_FACT_VARS=false ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
IMAGE=localhost/torchfleet-debian:12
INVENTORY=build/mirror-lab/inventory.yml
LOG=build/mirror-lab

down() {
  for name in tf-m-client tf-m-conda tf-m-mirror; do podman rm -f -t 0 "$name" >/dev/null 2>&1 || true; done
  for net in tf-m-air tf-m-net; do podman network rm "$net" >/dev/null 2>&1 || true; done
}

up() {
  podman network create tf-m-net >/dev/null
  # --internal: no gateway and no route out (podman-network-create(1)).
  podman network create --internal tf-m-air >/dev/null
  local idle=(bash -c "while true; do sleep 10000; done")
  podman run -d --name tf-m-mirror --stop-timeout=0 --network tf-m-net --network tf-m-air "$IMAGE" "${idle[@]}" >/dev/null
  for name in tf-m-client tf-m-conda; do
    podman run -d --name "$name" --stop-timeout=0 --network tf-m-air "$IMAGE" "${idle[@]}" >/dev/null
  done
}

playbook() {  # name, then ansible-playbook arguments
  local name=$1; shift
  local start=$SECONDS
  ansible-playbook -i "$INVENTORY" "$@" > "$LOG/$name.log" 2>&1 || { tail -n 60 "$LOG/$name.log"; echo "$name failed"; exit 1; }
  sed -n '/PLAY RECAP/,/^$/p' "$LOG/$name.log"
  echo "$name: $((SECONDS - start)) s"
}

run() {
  mkdir -p "$LOG"
  test -f "$LAB_MIRROR/whl/cpu/torch/index.html" || { echo "no lab mirror at $LAB_MIRROR (make lab)"; exit 1; }
  envsubst '${LAB_MIRROR} ${LAB_CACHE}' < tests/harness/mirror_lab/inventory.yml > "$INVENTORY"
  playbook mirror-1 playbooks/mirror.yml -e mirror_fleet=fleet -e mirror_host=mirror
  playbook mirror-2 playbooks/mirror.yml -e mirror_fleet=fleet -e mirror_host=mirror
  grep -Eq 'tf-m-mirror +: ok=[0-9]+ +changed=0 ' "$LOG/mirror-2.log" || { echo "second mirror run changed something"; exit 1; }
  playbook client tests/harness/mirror_lab/client.yml
}

case "${1:-all}" in
  up) down; up ;;
  run) run ;;
  down) down ;;
  all) down; up; trap down EXIT; run ;;
  *) echo "usage: $0 [up|run|down|all]"; exit 2 ;;
esac
