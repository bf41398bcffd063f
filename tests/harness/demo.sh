#!/usr/bin/env bash
# make demo: the collection's main job on a throwaway local lab.
#
# Two Debian 12 containers stand in for lab machines: demo-conda gets Miniconda at system scope,
# demo-uv gets a uv environment at user scope for the unprivileged login "student". Both take every
# download from the lab mirror on 127.0.0.1 (see tests/harness/README.md for what stands in for what),
# then playbooks/verify.yml checks them and prints a table, and playbooks/train.yml runs both trainers on each
# host and mnist_cnn under torchrun across the two, and writes the fleet report. `make demo-clean` removes the lab.
#
# Ansible reaches them as users reach lab machines: over SSH with a key made for this lab, as "labadmin" with
# sudo on demo-conda and as "student" (no sudo) on demo-uv, host keys checked against the lab's own
# known_hosts, with the settings of docs/ansible.cfg. The containers share the host's network, as before, so
# they reach the mirror on loopback; each runs sshd as PID 1 on a loopback port of its own
# (TORCHFLEET_DEMO_SSH_PORT and the next one, default 2221 and 2222).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
eval "$("$HERE/lab.sh" env)"
DEMO_DIR=$TORCHFLEET_LAB_CACHE/demo
SSH_DIR=$DEMO_DIR/ssh
HOSTS=(demo-conda demo-uv)
SSH_PORT=${TORCHFLEET_DEMO_SSH_PORT:-2221}
declare -A PORTS=([demo-conda]=$SSH_PORT [demo-uv]=$((SSH_PORT + 1)))
declare -A LOGINS=([demo-conda]=labadmin [demo-uv]=student)

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
# Every demo host's name resolves on every host: torchrun's rank 0 gives the others its hostname for the process
# group's store (torch.distributed.run --local-addr: "Else, it will default to local machine's FQDN"), and the
# containers share the host's network, so each name is 127.0.0.1.
ADD_HOSTS=()
for host in "${HOSTS[@]}"; do
  ADD_HOSTS+=(--add-host "$host:127.0.0.1")
done
EXTRA_HOSTS=${HOSTS[*]/%/:127.0.0.1}
for host in "${HOSTS[@]}"; do
  sshd=$("$HERE/lab_ssh.sh" sshd-command "${PORTS[$host]}" 127.0.0.1)
  # A container of an older demo (another command, another port, hosts that do not know each other) is replaced.
  if podman container exists "$host" &&
    { [[ $(podman container inspect --format '{{ join .Config.Cmd " " }}' "$host") != "bash -c $sshd" ]] ||
      [[ $(podman container inspect --format '{{ join .HostConfig.ExtraHosts " " }}' "$host") != "$EXTRA_HOSTS" ]]; }; then
    podman rm -f -t 0 "$host" >/dev/null
  fi
  if ! podman container exists "$host"; then
    # Cached facts of a removed container would describe another host.
    rm -rf "$DEMO_DIR/facts"
    # --add-host: sudo looks the host name up, and the host's /etc/hosts does not have it; torchrun looks the
    # other hosts' names up.
    podman run -d --name "$host" --hostname "$host" "${ADD_HOSTS[@]}" --network host \
      "$TORCHFLEET_LAB_IMAGE" bash -c "$sshd" >/dev/null
  fi
  podman start "$host" >/dev/null
done
"$HERE/lab_ssh.sh" host "$SSH_DIR" demo-conda labadmin 127.0.0.1 "${PORTS[demo-conda]}" --sudo >/dev/null
"$HERE/lab_ssh.sh" host "$SSH_DIR" demo-uv student 127.0.0.1 "${PORTS[demo-uv]}" >/dev/null

cat > "$DEMO_DIR/inventory.yml" <<INV
all:
  vars:
    ansible_connection: ssh
    ansible_ssh_private_key_file: $SSH_DIR/id_ed25519
    # Each host's address and port, its known_hosts entry and StrictHostKeyChecking yes (lab_ssh.sh).
    ansible_ssh_common_args: -F $SSH_DIR/config
    ansible_python_interpreter: auto_silent
    torchfleet_mirror_url: $TORCHFLEET_MIRROR_URL
    pytorch_version: "$TORCHFLEET_TORCH_VERSION"
    pytorch_python_version: "3.11"
    pytorch_env_packages: [torch]
    # train.yml: the lab's mnist/ holds scikit-learn's digits, named as the user's own data (checked by its
    # SHA256SUMS); mnist_cnn runs under torchrun across both hosts, its rendezvous on demo-conda. The containers
    # share the host's network, so the rendezvous address (demo-conda's default IPv4) is one both reach.
    trainers_data_url: $TORCHFLEET_MIRROR_URL/mnist/
    trainers_device: cpu
    trainers_timeout: 300
    trainers_report_dir: $DEMO_DIR/report
  hosts:
    demo-conda:
      ansible_user: ${LOGINS[demo-conda]}
      miniconda_version: $TORCHFLEET_MINICONDA_VERSION
      miniconda_accept_anaconda_tos: true
    demo-uv:
      ansible_user: ${LOGINS[demo-uv]}
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
  - lab machines         -> podman containers of Debian 12 (${HOSTS[*]}), reached over SSH on 127.0.0.1:${PORTS[demo-conda]} and :${PORTS[demo-uv]}
MSG

# docs/ansible.cfg, as users are told to use it, with the fact cache in the demo's directory.
export ANSIBLE_CONFIG=$REPO/docs/ansible.cfg
export ANSIBLE_CACHE_PLUGIN_CONNECTION=$DEMO_DIR/facts
export ANSIBLE_INJECT_FACT_VARS=false
# Each playbook's output goes to the terminal and to a log; its wall time in seconds is printed on stdout.
run_playbook() {
  local log=$1 playbook=$2 start
  shift 2
  start=$(date +%s)
  ansible-playbook -i "$DEMO_DIR/inventory.yml" "$REPO/playbooks/$playbook" "$@" | tee "$log" >&2 || {
    echo "demo: $playbook failed; its output is in $log" >&2
    return 1
  }
  echo $(($(date +%s) - start))
}
# A run's changes per host, from the log's PLAY RECAP.
recap() {
  sed -n '/PLAY RECAP/,$p' "$1" | grep -o '^[a-z-]* *: .*changed=[0-9]*' | sed 's/ok=.*changed/changed/'
}
site_first=$(run_playbook "$DEMO_DIR/site-1.log" site.yml)
site_second=$(run_playbook "$DEMO_DIR/site-2.log" site.yml)
verify=$(run_playbook "$DEMO_DIR/verify.log" verify.yml -e "torchfleet_verify_report=$DEMO_DIR/verify.md")
# Both trainers on each host and mnist_cnn under torchrun across the two. A run whose metrics for the same
# scripts, data and parameters are on the hosts already is not repeated (playbooks/train.yml).
train=$(run_playbook "$DEMO_DIR/train.log" train.yml)
echo
echo "demo: site.yml took ${site_first} s; the second run took ${site_second} s with these changes:"
recap "$DEMO_DIR/site-2.log"
echo "demo: verify.yml took ${verify} s; train.yml took ${train} s with these changes:"
recap "$DEMO_DIR/train.log"
echo "demo: verification (playbooks/verify.yml):"
cat "$DEMO_DIR/verify.md"
echo "demo: fleet report (playbooks/train.yml):"
cat "$DEMO_DIR/report/fleet-report.md"
echo "demo: the report with the loss curves: $DEMO_DIR/report/fleet-report.html"
