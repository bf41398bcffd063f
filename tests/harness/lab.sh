#!/usr/bin/env bash
# The test lab's one entry point: host packages, the container image, the local mirror and its HTTP server.
# Every step reuses what is already there, so calling it again is cheap.  See tests/harness/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
export TORCHFLEET_LAB_IMAGE="${TORCHFLEET_LAB_IMAGE:-localhost/torchfleet-debian:12}"
export TORCHFLEET_LAB_CACHE="${TORCHFLEET_LAB_CACHE:-$REPO/.cache/lab}"
# The mirror role's mirror_root (releases/<id>/ and the `current` link), and what the server serves: `current`.
export TORCHFLEET_MIRROR_ROOT="${TORCHFLEET_MIRROR_ROOT:-$TORCHFLEET_LAB_CACHE/mirror-root}"
export TORCHFLEET_MIRROR_DIR="${TORCHFLEET_MIRROR_DIR:-$TORCHFLEET_MIRROR_ROOT/current}"
# build_mirror.py's files (stand-ins, digits, uv, the torch wheel) and inventory; the role's downloads.
MIRROR_FILES=$TORCHFLEET_LAB_CACHE/mirror-files
MIRROR_DOWNLOADS=$TORCHFLEET_LAB_CACHE/mirror-downloads
export TORCHFLEET_MIRROR_PORT="${TORCHFLEET_MIRROR_PORT:-8765}"
# Loopback only: the lab's containers share the host's network (podman --network host).
MIRROR_HOST=127.0.0.1
export TORCHFLEET_MIRROR_URL="http://$MIRROR_HOST:$TORCHFLEET_MIRROR_PORT"
PYTHON=${PYTHON:-python3}

PIDFILE=$TORCHFLEET_LAB_CACHE/mirror-server-$TORCHFLEET_MIRROR_PORT.pid
SERVER_LOG=$TORCHFLEET_LAB_CACHE/mirror-server-$TORCHFLEET_MIRROR_PORT.log
# A random token the server hands back, so we know the port answers with our mirror and not another one. It is
# kept beside the pid file and copied into the served release (SERVED_TOKEN), again after a new release is published.
TOKEN_FILE=$TORCHFLEET_LAB_CACHE/mirror-server-$TORCHFLEET_MIRROR_PORT.token
SERVED_TOKEN=.state/server-id-$TORCHFLEET_MIRROR_PORT

# Debian packages the lab needs on the host.  runc is named because podman's `crun | runc` would pick crun,
# which fails on this machine kind; netavark/aardvark-dns and iptables serve podman's default bridge network;
# uidmap, slirp4netns and fuse-overlayfs are for rootless podman; debootstrap checks the archive with the keyring.
DEPS=(
  podman runc conmon catatonit netavark aardvark-dns containernetworking-plugins iptables
  uidmap slirp4netns fuse-overlayfs
  debootstrap debian-archive-keyring wget ca-certificates
)

log() { printf 'lab: %s\n' "$*"; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
usage: tests/harness/lab.sh COMMAND

  deps          apt-get install the host packages that are missing (a no-op when all are there)
  image         build $TORCHFLEET_LAB_IMAGE unless present with the current recipe (--force rebuilds)
  mirror        the lab's own files (build_mirror.py), then the mirror role (playbooks/mirror.yml, publish
                only) makes them and what they need a release in $TORCHFLEET_MIRROR_ROOT
  mirror-up     serve the mirror at $TORCHFLEET_MIRROR_URL in the background (no-op when serving)
  mirror-down   stop that server
  up            deps + image + mirror + mirror-up
  status        image present?  mirror built?  server up?  URL
  env [--make]  print the variables other tools need, as shell exports (or Makefile assignments)
  verify        smoke test: a --network host container fetches from the mirror and pip/uv-installs torch
  clean         mirror-down, remove the image and $TORCHFLEET_LAB_CACHE

Environment: TORCHFLEET_MIRROR_PORT (8765), TORCHFLEET_LAB_CACHE, TORCHFLEET_MIRROR_ROOT, TORCHFLEET_MIRROR_DIR
(the served tree, \$TORCHFLEET_MIRROR_ROOT/current), TORCHFLEET_LAB_IMAGE,
TORCHFLEET_DEBIAN_MIRROR (debootstrap's mirror; default Debian's), CONTAINERS_CONF, PYTHON (python3),
ANSIBLE_PLAYBOOK (the dev venv's).
EOF
}

# --------------------------------------------------------------------------- deps

cmd_deps() {
  local missing=() pkg
  for pkg in "${DEPS[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
      missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "deps: all ${#DEPS[@]} host packages present"
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || die "deps: missing ${missing[*]}; install them as root"
  log "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# --------------------------------------------------------------------------- image and mirror

cmd_image() { "$HERE/build_image.sh" "$@"; }

# The collection from this checkout (the Makefile's link) and the dev venv's ansible-playbook, as `make` has them.
ANSIBLE_PLAYBOOK=${ANSIBLE_PLAYBOOK:-$REPO/.venv/bin/ansible-playbook}
[[ -x $ANSIBLE_PLAYBOOK ]] || ANSIBLE_PLAYBOOK=ansible-playbook

cmd_mirror() {
  "$PYTHON" "$HERE/build_mirror.py" --out "$MIRROR_FILES" --mirror-root "$TORCHFLEET_MIRROR_ROOT" \
    --downloads "$MIRROR_DOWNLOADS" "$@"
  [[ -e $REPO/build/collections/ansible_collections/torchfleet/lab ]] \
    || die "mirror: no collection link in build/collections; run: make venv"
  log "mirror: playbooks/mirror.yml (the mirror role, mirror_serve: false) into $TORCHFLEET_MIRROR_ROOT"
  ANSIBLE_COLLECTIONS_PATH="$REPO/build/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}" \
    ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_FORCE_COLOR=false \
    "$ANSIBLE_PLAYBOOK" -i "$MIRROR_FILES/inventory.json" "$REPO/playbooks/mirror.yml" \
    -e mirror_fleet=lab_fleet -e mirror_host=mirror
  # A new release has no copy of the running server's token yet.
  if server_pid >/dev/null && [[ -f $TOKEN_FILE ]]; then
    publish_token
  fi
}

# --------------------------------------------------------------------------- HTTP server

# Print what the mirror at the URL answers for PATH (empty when nothing answers); never uses a proxy.
fetch() {
  "$PYTHON" - "$TORCHFLEET_MIRROR_URL/$1" <<'EOF' 2>/dev/null || true
import sys
import urllib.request

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=2) as response:
        sys.stdout.write(response.read().decode())
except OSError:
    pass
EOF
}

server_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 1
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Only a process that really is our http.server counts (pids get reused).
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "http.server $TORCHFLEET_MIRROR_PORT" || return 1
  echo "$pid"
}

publish_token() {
  mkdir -p "$TORCHFLEET_MIRROR_DIR/.state"
  cp "$TOKEN_FILE" "$TORCHFLEET_MIRROR_DIR/$SERVED_TOKEN"
}

serving() {
  [[ -f $TOKEN_FILE ]] && server_pid >/dev/null && [[ $(fetch "$SERVED_TOKEN") == "$(<"$TOKEN_FILE")" ]]
}

cmd_mirror_up() {
  if serving; then
    log "mirror-up: already serving $TORCHFLEET_MIRROR_DIR at $TORCHFLEET_MIRROR_URL (pid $(server_pid))"
    return 0
  fi
  # Not a directory made here: the role points `current` at its release, and would refuse to replace one.
  [[ -f $TORCHFLEET_MIRROR_DIR/manifest.json ]] || die "mirror-up: no mirror in $TORCHFLEET_MIRROR_DIR (run: lab.sh mirror)"
  local pid
  if pid=$(server_pid) && [[ -f $TOKEN_FILE ]]; then
    # Our server, but its token went with an earlier release.
    publish_token
    if serving; then
      log "mirror-up: already serving $TORCHFLEET_MIRROR_DIR at $TORCHFLEET_MIRROR_URL (pid $pid)"
      return 0
    fi
  fi
  if [[ -n $(fetch "") ]]; then
    die "mirror-up: something else already answers at $TORCHFLEET_MIRROR_URL; stop it or set TORCHFLEET_MIRROR_PORT"
  fi
  "$PYTHON" -c 'import secrets; print(secrets.token_hex(16))' >"$TOKEN_FILE"
  publish_token
  # nohup: the server outlives this script and the make that called it; stop it with mirror-down.
  nohup "$PYTHON" -m http.server "$TORCHFLEET_MIRROR_PORT" --bind "$MIRROR_HOST" \
    --directory "$TORCHFLEET_MIRROR_DIR" >>"$SERVER_LOG" 2>&1 </dev/null &
  local tries
  pid=$!
  echo "$pid" >"$PIDFILE"
  for ((tries = 0; tries < 100; tries++)); do
    if [[ $(fetch "$SERVED_TOKEN") == "$(<"$TOKEN_FILE")" ]]; then
      log "mirror-up: serving $TORCHFLEET_MIRROR_DIR at $TORCHFLEET_MIRROR_URL (pid $pid, log $SERVER_LOG)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 5 "$SERVER_LOG" >&2
      rm -f "$PIDFILE"
      die "mirror-up: the server exited; see $SERVER_LOG"
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  die "mirror-up: no answer from $TORCHFLEET_MIRROR_URL after 10 s; see $SERVER_LOG"
}

cmd_mirror_down() {
  local pid tries
  if ! pid=$(server_pid); then
    rm -f "$PIDFILE"
    log "mirror-down: not running"
    return 0
  fi
  kill "$pid"
  for ((tries = 0; tries < 50; tries++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$TOKEN_FILE" "$TORCHFLEET_MIRROR_DIR/$SERVED_TOKEN"
  log "mirror-down: stopped (pid $pid)"
}

# --------------------------------------------------------------------------- reporting

cmd_env() {
  local make=0 line
  [[ ${1:-} == --make ]] && make=1
  {
    printf '%s\n' "CONTAINERS_CONF=$CONTAINERS_CONF" "TORCHFLEET_LAB_IMAGE=$TORCHFLEET_LAB_IMAGE" \
      "TORCHFLEET_LAB_CACHE=$TORCHFLEET_LAB_CACHE" "TORCHFLEET_MIRROR_ROOT=$TORCHFLEET_MIRROR_ROOT" \
      "TORCHFLEET_MIRROR_DIR=$TORCHFLEET_MIRROR_DIR" \
      "TORCHFLEET_MIRROR_PORT=$TORCHFLEET_MIRROR_PORT" "TORCHFLEET_MIRROR_URL=$TORCHFLEET_MIRROR_URL"
    "$PYTHON" "$HERE/build_mirror.py" --print-env
  } | while IFS= read -r line; do
    if [[ $make -eq 1 ]]; then
      printf 'export %s := %s\n' "${line%%=*}" "${line#*=}"
    else
      printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
    fi
  done
}

cmd_status() {
  local rc=0
  "$HERE/build_image.sh" --status || rc=1
  local parts
  if parts=$("$PYTHON" "$HERE/build_mirror.py" --status "$TORCHFLEET_MIRROR_DIR"); then
    echo "mirror: built in $TORCHFLEET_MIRROR_DIR"
  else
    echo "mirror: incomplete in $TORCHFLEET_MIRROR_DIR"
    rc=1
  fi
  printf '%s\n' "$parts"
  if serving; then
    echo "server: up (pid $(server_pid), log $SERVER_LOG)"
  else
    echo "server: down"
    rc=1
  fi
  echo "url: $TORCHFLEET_MIRROR_URL"
  return $rc
}

# --------------------------------------------------------------------------- smoke test

cmd_verify() {
  serving || die "verify: mirror not served; run: lab.sh mirror && lab.sh mirror-up"
  podman image exists "$TORCHFLEET_LAB_IMAGE" || die "verify: no image; run: lab.sh image"
  local torch_version uv_version
  torch_version=$("$PYTHON" "$HERE/build_mirror.py" --print-env | sed -n 's/^TORCHFLEET_TORCH_VERSION=//p')
  uv_version=$("$PYTHON" "$HERE/build_mirror.py" --print-env | sed -n 's/^TORCHFLEET_UV_VERSION=//p')
  log "verify: in a --network host container from $TORCHFLEET_LAB_IMAGE"
  podman run --rm --network host "$TORCHFLEET_LAB_IMAGE" bash -c "$(cat "$HERE/verify_in_container.sh")" \
    verify "$TORCHFLEET_MIRROR_URL" "$torch_version" "$uv_version"
}

cmd_clean() {
  cmd_mirror_down
  if podman image exists "$TORCHFLEET_LAB_IMAGE"; then
    podman rmi "$TORCHFLEET_LAB_IMAGE" >/dev/null
  fi
  rm -rf "$TORCHFLEET_LAB_CACHE"
  log "clean: removed $TORCHFLEET_LAB_IMAGE and $TORCHFLEET_LAB_CACHE"
}

command=${1:-}
[[ $# -gt 0 ]] && shift
case $command in
  deps) cmd_deps ;;
  image) cmd_image "$@" ;;
  mirror) cmd_mirror "$@" ;;
  mirror-up) cmd_mirror_up ;;
  mirror-down) cmd_mirror_down ;;
  up) cmd_deps; cmd_image; cmd_mirror; cmd_mirror_up ;;
  status) cmd_status ;;
  env) cmd_env "$@" ;;
  verify) cmd_verify ;;
  clean) cmd_clean ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
