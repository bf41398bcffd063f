#!/usr/bin/env bash
# Run playbooks/site.yml and playbooks/train.yml through the execution environment with ansible-runner, the engine
# AWX and Automation Controller use, then the same playbooks with ansible-playbook straight from this checkout on a
# fresh host of its own; fail unless both PLAY RECAPs show no failure and the same counts.
#
#   tests/harness/ee_run.sh            (make ee-run; the EE image must exist: make ee)
#   tests/harness/ee_run.sh --ci       (make ee-ci) the same, sized for CI: the two hosts' runs side by side and the
#                                      trainers on 64 samples for one epoch
#
# The hosts are containers of the lab image on a podman network of their own, each running sshd as PID 1
# (tests/harness/lab_ssh.sh: no root login, no passwords). Ansible logs in as a login user with passwordless sudo for
# `become`, as users reach their machines (docs/ansible.cfg), and checks each host's key against a known_hosts file
# read through podman. An EE reaches its hosts over the network with the machine credential's key, which
# ansible-runner hands to ssh-agent from env/ssh_key
# (https://ansible.readthedocs.io/projects/runner/en/latest/intro/#env-ssh-key), as AWX does. The mirror is served
# read-only on that network's gateway. Everything is removed on exit; the logs, the recaps and the runner's private
# data directory stay in $TORCHFLEET_EE_WORK.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
LAB_IMAGE=${TORCHFLEET_LAB_IMAGE:-localhost/torchfleet-debian:12}
# The release the mirror role published for the lab (lab.sh mirror): <mirror_root>/current.
MIRROR_DIR=${TORCHFLEET_MIRROR_DIR:-${TORCHFLEET_MIRROR_ROOT:-${TORCHFLEET_LAB_CACHE:-$REPO/.cache/lab}/mirror-root}/current}
EE_IMAGE=${TORCHFLEET_EE_IMAGE:-localhost/torchfleet-ee:latest}
# Containers and network are named after this prefix.
PREFIX=${TORCHFLEET_EE_PREFIX:-torchfleet-ee}
PORT=${TORCHFLEET_EE_MIRROR_PORT:-8975}
WORK=${TORCHFLEET_EE_WORK:-$REPO/build/ee/run}
RUNNER=${ANSIBLE_RUNNER:-ansible-runner}
PYTHON=${PYTHON:-python3}
# The versions the lab mirror holds (build_mirror.py pins them).
TORCH_VERSION=${TORCHFLEET_TORCH_VERSION:-2.13.0}
# A hung run (the runner waits on its key fifo if the EE cannot read it) fails instead of blocking CI.
TIMEOUT=${TORCHFLEET_EE_TIMEOUT:-1800}
# The login Ansible uses on the hosts; sudo without a password gives it root for the tasks that become.
LOGIN=${TORCHFLEET_EE_LOGIN:-labadmin}
CI=0
case ${1:-} in
  --ci) CI=1 ;;
  "") ;;
  *) printf 'usage: %s [--ci]\n' "$0" >&2; exit 2 ;;
esac

NET=$PREFIX-net
SSH_DIR=$WORK/ssh
EE_HOST=$PREFIX-host-1
DIRECT_HOST=$PREFIX-host-2
SERVER_PID=

log() { printf 'ee-run: %s\n' "$*"; }
die() { printf 'ee-run: ERROR: %s\n' "$*" >&2; exit 1; }

cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  podman rm -f -t 0 "$EE_HOST" "$DIRECT_HOST" >/dev/null 2>&1 || true
  podman network rm "$NET" >/dev/null 2>&1 || true
}

start_lab() {
  podman image exists "$EE_IMAGE" || die "$EE_IMAGE missing: run make ee"
  podman image exists "$LAB_IMAGE" || die "$LAB_IMAGE missing: run tests/harness/lab.sh image"
  [[ -f $MIRROR_DIR/manifest.json ]] || die "no lab mirror in $MIRROR_DIR: run tests/harness/lab.sh mirror"
  rm -rf "$WORK" && mkdir -p "$WORK"
  podman network create "$NET" >/dev/null
  # The lab image has openssh-server and sudo (build_image.sh); sshd runs as PID 1, on port 22 of the network.
  local host sshd
  sshd=$("$HERE/lab_ssh.sh" sshd-command 22 0.0.0.0)
  for host in "$EE_HOST" "$DIRECT_HOST"; do
    podman run -d --name "$host" --hostname "$host" --network "$NET" --stop-timeout 0 "$LAB_IMAGE" \
      bash -c "$sshd" >/dev/null
  done
  # The login, its key (made here, new on every run), its sudo rule, and each host's key in $SSH_DIR/known_hosts.
  for host in "$EE_HOST" "$DIRECT_HOST"; do
    "$HERE/lab_ssh.sh" host "$SSH_DIR" "$host" "$LOGIN" "$(host_ip "$host")" 22 --sudo >/dev/null
  done
  GATEWAY=$(podman network inspect --format '{{ (index .Subnets 0).Gateway }}' "$NET")
  # Read-only: http.server only answers GET and HEAD.
  "$PYTHON" -m http.server "$PORT" --bind "$GATEWAY" --directory "$MIRROR_DIR" >"$WORK/mirror-server.log" 2>&1 &
  SERVER_PID=$!
  local tries
  for tries in $(seq 50); do
    # The address is the lab's own: past any proxy the machine's environment names.
    curl -fs --noproxy '*' -o /dev/null "http://$GATEWAY:$PORT/manifest.json" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  die "the mirror server on $GATEWAY:$PORT did not answer after $tries tries ($WORK/mirror-server.log)"
}

host_ip() { podman inspect --format "{{ (index .NetworkSettings.Networks \"$NET\").IPAddress }}" "$1"; }

# An inventory as a user would write it: one group, the variables the lab's molecule scenarios set (molecule/fleet).
# KNOWN_HOSTS is where the run finds $SSH_DIR/known_hosts: the EE sees the private data directory as /runner
# (ansible-runner 2.4.3 ansible_runner/config/_base.py, line 560);
# HostKeyAlias: the key is recorded under the host's name (lab_ssh.sh).
write_inventory() {
  local host=$1 report=$2 known_hosts=$3
  cat <<EOF
---
fleet:
  hosts:
    $host:
      ansible_host: $(host_ip "$host")
      ansible_user: $LOGIN
      ansible_ssh_common_args: >-
        -o UserKnownHostsFile=$known_hosts -o StrictHostKeyChecking=yes -o HostKeyAlias=$host
  vars:
    torchfleet_mirror_url: http://$GATEWAY:$PORT
    trainers_data_url: http://$GATEWAY:$PORT/mnist/
    pytorch_version: $TORCH_VERSION
    pytorch_python_version: "3.11"
    pytorch_env_packages: [torch]
    pytorch_env_manager: uv
    pytorch_env_scope: system
    pytorch_env_uv_python_downloads: never
    trainers_group: fleet
    trainers_device: cpu
    trainers_timeout: 300
    trainers_report_dir: $report
EOF
  # CI: the same tasks on less data (the trainers' own inputs; roles/trainers/defaults/main.yml).
  if ((CI)); then printf '    trainers_epochs: 1\n    trainers_limit: 64\n'; fi
}

# ansible-runner's private data directory: https://ansible.readthedocs.io/projects/runner/en/latest/intro/
prepare_runner() {
  local dir=$WORK/runner
  mkdir -p "$dir/inventory" "$dir/env" "$dir/project"
  cp "$REPO"/playbooks/*.yml "$dir/project/"
  cp "$SSH_DIR/known_hosts" "$dir/known_hosts"
  write_inventory "$EE_HOST" /runner/report /runner/known_hosts >"$dir/inventory/hosts.yml"
  cp "$SSH_DIR/id_ed25519" "$dir/env/ssh_key"
  printf -- '---\nANSIBLE_NOCOLOR: "True"\n' >"$dir/env/envvars"
}

# The runner writes the private data directory and the key's fifo (mode 0600) as the user who runs it, so the EE runs
# as that user too, as ansible-runner itself does with docker (ansible_runner/config/_base.py, --user=os.getuid());
# the image's own user (uid 1000, ansible-builder's options.user) could not read them under rootful podman.
run_ee() {
  local playbook=$1
  log "ansible-runner: $playbook in $EE_IMAGE on $EE_HOST"
  timeout "$TIMEOUT" "$RUNNER" run "$WORK/runner" --playbook "$playbook" --ident "${playbook%.yml}" \
    --process-isolation --process-isolation-executable podman --container-image "$EE_IMAGE" \
    --container-option="--network=$NET" --container-option="--user=$(id -u)" >"$WORK/ee-${playbook%.yml}.log" 2>&1 \
    || { tail -n 40 "$WORK/ee-${playbook%.yml}.log"; die "$playbook failed through the EE ($WORK/ee-${playbook%.yml}.log)"; }
}

run_direct() {
  local playbook=$1
  log "ansible-playbook: $playbook from this checkout on $DIRECT_HOST"
  timeout "$TIMEOUT" ansible-playbook -i "$WORK/direct-inventory.yml" \
    --private-key "$SSH_DIR/id_ed25519" "$REPO/playbooks/$playbook" >"$WORK/direct-${playbook%.yml}.log" 2>&1 \
    || { tail -n 40 "$WORK/direct-${playbook%.yml}.log"; die "$playbook failed run directly ($WORK/direct-${playbook%.yml}.log)"; }
}

# The PLAY RECAP of a log, without colour codes (podman gives the EE a terminal).
recap() { sed -E 's/\x1b\[[0-9;]*m//g; s/\r$//' "$1" | sed -n '/^PLAY RECAP/,/^$/p'; }
# Its counts with the host name taken out, so the EE's host and the direct one compare.
counts() { recap "$1" | sed -E 's/^[^ ]+ +: /HOST : /; s/ +/ /g'; }

compare() {
  local playbook=${1%.yml} ee direct
  ee=$(counts "$WORK/ee-$playbook.log")
  direct=$(counts "$WORK/direct-$playbook.log")
  printf '%s through the EE:\n%s\n%s run directly:\n%s\n' "$1" "$(recap "$WORK/ee-$playbook.log")" "$1" \
    "$(recap "$WORK/direct-$playbook.log")" | tee -a "$WORK/recaps.txt"
  [[ -n $ee ]] || die "no PLAY RECAP in $WORK/ee-$playbook.log"
  grep -q ' failed=0 ' <<<"$ee" && grep -q ' unreachable=0 ' <<<"$ee" || die "$1 through the EE failed a host"
  [[ $ee == "$direct" ]] || die "$1: the EE's recap differs from the direct run's (above)"
}

main() {
  command -v "$RUNNER" >/dev/null || die "$RUNNER missing: make ee installs it in build/ee-venv"
  trap cleanup EXIT
  cleanup
  start_lab
  prepare_runner
  write_inventory "$DIRECT_HOST" "$WORK/direct-report" "$SSH_DIR/known_hosts" >"$WORK/direct-inventory.yml"
  : >"$WORK/recaps.txt"
  local playbook started ee_pid rc
  for playbook in site.yml train.yml; do
    if ((CI)); then
      # Side by side: each host is provisioned by one run only, so neither waits on the other.
      started=$SECONDS
      run_ee "$playbook" &
      ee_pid=$!
      rc=0
      (run_direct "$playbook") || rc=$?
      wait "$ee_pid" || rc=$?
      ((rc == 0)) || die "$playbook failed (above)"
      log "$playbook through the EE and directly, side by side: $((SECONDS - started)) s"
      continue
    fi
    started=$SECONDS
    run_ee "$playbook"
    log "$playbook through the EE: $((SECONDS - started)) s"
    started=$SECONDS
    run_direct "$playbook"
    log "$playbook directly: $((SECONDS - started)) s"
  done
  for playbook in site.yml train.yml; do compare "$playbook"; done
  log "the EE's recaps match the direct runs' ($WORK/recaps.txt)"
}

main "$@"
