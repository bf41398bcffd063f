#!/usr/bin/env bash
# SSH into the lab's containers the way users reach their lab machines: a login user with key authentication,
# sudo for `become`, and host keys checked against a known_hosts file of the lab's own.
#
#   lab_ssh.sh sshd-command [PORT [ADDRESS]]
#       print the container command that runs sshd in the foreground (PID 1): it makes the host's own keys on
#       first start (the image carries none) and refuses passwords and root logins.
#   lab_ssh.sh host DIR CONTAINER USER ADDRESS [PORT] [--sudo]
#       in the running CONTAINER: create USER (bash, home), authorize DIR/id_ed25519.pub for it, and with --sudo
#       let it run sudo without a password (lab only: the key is its only way in); wait for sshd, then record the
#       container's ed25519 host key, read through podman rather than trusted from the network, in
#       DIR/known_hosts, and a block "Host CONTAINER" (HostName ADDRESS, Port PORT, that known_hosts with
#       StrictHostKeyChecking yes) in DIR/config. `ssh -F DIR/config CONTAINER` then reaches it by name, as
#       Ansible does with ansible_ssh_common_args: -F DIR/config. The key pair is made first when missing.
#
# Every step reuses what is already there, so calling it again changes nothing; `host` prints "changed" when it
# changed something (a playbook's changed_when reads it).
set -euo pipefail

die() { printf 'lab_ssh: ERROR: %s\n' "$*" >&2; exit 1; }

sshd_command() {
  local port=${1:-22} address=${2:-0.0.0.0}
  # ssh-keygen -A: "generate host keys of all default key types ... if they do not already exist" (ssh-keygen(1)).
  # sshd -D: do not detach; -e: log to stderr, so `podman logs` shows it (sshd(8)). /run/sshd is the privilege
  # separation directory Debian's sshd wants to exist (its systemd unit makes it: RuntimeDirectory=sshd).
  printf '%s' "ssh-keygen -A -q && mkdir -p -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e -p $port" \
    " -o ListenAddress=$address -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no" \
    " -o PermitRootLogin=no"
}

keypair() {
  local dir=$1
  mkdir -p -m 0700 "$dir"
  if [[ ! -s $dir/id_ed25519 ]]; then
    ssh-keygen -q -t ed25519 -N '' -C "torchfleet-lab@$(hostname)" -f "$dir/id_ed25519"
  fi
}

# Replace the lines of NAME in the known_hosts FILE with LINE, atomically (a no-op when LINE is its only one).
record_host_key() {
  local file=$1 name=$2 line=$3
  touch "$file"
  [[ $(awk -v n="$name" '$1 == n' "$file") == "$line" ]] && return 0
  { awk -v n="$name" '$1 != n' "$file"; printf '%s\n' "$line"; } >"$file.part"
  mv "$file.part" "$file"
  echo "changed: $file: $name"
}

# Replace the "Host NAME" block of the ssh_config FILE with BLOCK (its lines up to the next Host line).
record_host_block() {
  local file=$1 name=$2 block=$3 current
  touch "$file"
  current=$(awk -v n="$name" '$1 == "Host" { inside = ($2 == n) } inside' "$file")
  [[ $current == "$block" ]] && return 0
  { awk -v n="$name" '$1 == "Host" { inside = ($2 == n) } !inside' "$file"; printf '%s\n' "$block"; } >"$file.part"
  mv "$file.part" "$file"
  echo "changed: $file: Host $name"
}

host() {
  local dir=$1 container=$2 user=$3 address=$4 port=22 sudo=0 arg pubkey hostkey name tries
  shift 4
  for arg in "$@"; do
    case $arg in
      --sudo) sudo=1 ;;
      [0-9]*) port=$arg ;;
      *) die "host: unknown argument $arg" ;;
    esac
  done
  [[ $user =~ ^[a-z_][a-z0-9_-]*$ ]] || die "host: $user is not a login name"
  keypair "$dir"
  pubkey=$(<"$dir/id_ed25519.pub")
  podman exec -i "$container" bash -s "$user" "$pubkey" "$sudo" <<'EOF'
set -euo pipefail
user=$1 pubkey=$2 sudo=$3
# Write CONTENT to FILE (owner, mode) unless it holds it already.
put() {
  local file=$1 content=$2 owner=$3 mode=$4
  [[ -f $file && $(<"$file") == "$content" ]] && return 0
  printf '%s\n' "$content" >"$file.part"
  chown "$owner" "$file.part"
  chmod "$mode" "$file.part"
  mv "$file.part" "$file"
  echo "changed: $file"
}
if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
  echo "changed: user $user"
fi
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
put "$home/.ssh/authorized_keys" "$pubkey" "$user:$user" 0600
if [[ $sudo == 1 ]]; then
  put /etc/sudoers.d/torchfleet-lab "$user ALL=(ALL:ALL) NOPASSWD: ALL" root:root 0440
  visudo -cq -f /etc/sudoers.d/torchfleet-lab
fi
EOF
  # PID 1 makes the host keys before it starts sshd; wait for both.
  for ((tries = 0; tries < 100; tries++)); do
    if hostkey=$(podman exec "$container" cat /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null) &&
      podman exec "$container" sh -c 'test -s /run/sshd.pid' 2>/dev/null; then
      break
    fi
    hostkey=
    sleep 0.1
  done
  [[ -n $hostkey ]] || die "host: $container made no SSH host key or started no sshd; see: podman logs $container"
  # HostKeyAlias: the key is recorded under the host's name, whatever address or port it has (ssh_config(5)).
  record_host_key "$dir/known_hosts" "$container" "$container $(cut -d' ' -f1-2 <<<"$hostkey")"
  record_host_block "$dir/config" "$container" "Host $container
  HostName $address
  Port $port
  HostKeyAlias $container
  UserKnownHostsFile \"$dir/known_hosts\"
  StrictHostKeyChecking yes
  IdentitiesOnly yes"
}

command=${1:-}
[[ $# -gt 0 ]] && shift
case $command in
  sshd-command) sshd_command "$@" ;;
  host)
    [[ $# -ge 4 ]] || die "usage: lab_ssh.sh host DIR CONTAINER USER ADDRESS [PORT] [--sudo]"
    host "$@"
    ;;
  *) die "usage: lab_ssh.sh sshd-command [PORT [ADDRESS]] | host DIR CONTAINER USER ADDRESS [PORT] [--sudo]" ;;
esac
