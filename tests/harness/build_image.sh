#!/usr/bin/env bash
# Build the test lab's container image (default localhost/torchfleet-debian:12) without any registry:
# debootstrap a minimal Debian 12 root file system, cache it as a tarball, and `podman import` it.
#
#   build_image.sh            build unless the image exists with the current recipe (a no-op then)
#   build_image.sh --force    rebuild the root file system and the image
#   build_image.sh --status   print the image's state; exit 0 present, 1 missing, 2 stale recipe
#
# The recipe (suite, variant, package list, RECIPE_REV) is hashed into the image label
# org.torchfleet.lab.recipe, so editing PACKAGES below rebuilds the image on the next run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/containers.conf}"
IMAGE=${TORCHFLEET_LAB_IMAGE:-localhost/torchfleet-debian:12}
CACHE=${TORCHFLEET_LAB_CACHE:-$REPO/.cache/lab}
# Empty means debootstrap's own default Debian mirror.
DEBIAN_MIRROR=${TORCHFLEET_DEBIAN_MIRROR:-}

SUITE=bookworm
VARIANT=minbase
# What the roles, Ansible and molecule need inside a host:
#   python3 python3-apt       Ansible modules (apt module needs python3-apt; it cannot fetch it offline)
#   python3-venv python3-yaml virtualenvs for the uv/pip path; YAML for helper scripts
#   sudo acl                  become (root and to an unprivileged user)
#   ca-certificates           HTTPS downloads when a host is online (the `online` scenario)
#   tar gzip bzip2 xz-utils unzip  unarchive and installers
#   procps iproute2 kmod pciutils  facts and gpu_facts probes (ps, ip, lsmod, lspci)
#   openssh-server            the demo and the fleet scenario reach hosts over SSH (tests/harness/lab_ssh.sh)
PACKAGES=(
  python3 python3-apt python3-venv python3-yaml
  sudo acl ca-certificates
  tar gzip bzip2 xz-utils unzip
  procps iproute2 kmod pciutils
  openssh-server
)
# Bump when the steps below change in a way the package list does not show.
# 2: the SSH host keys openssh-server's postinst made are removed (each container makes its own).
RECIPE_REV=2
LABEL=org.torchfleet.lab.recipe

log() { printf 'image: %s\n' "$*"; }
die() { printf 'image: ERROR: %s\n' "$*" >&2; exit 1; }

recipe=$(printf '%s\n' "$SUITE" "$VARIANT" "$RECIPE_REV" "${PACKAGES[@]}" | sha256sum | cut -c1-16)
tarball=$CACHE/rootfs-$SUITE-$recipe.tar

image_recipe() {
  podman image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

status() {
  local current
  current=$(image_recipe)
  if [[ -z $current ]]; then
    if podman image exists "$IMAGE"; then
      echo "image: $IMAGE present but not built by this script (no $LABEL label)"; return 2
    fi
    echo "image: $IMAGE missing"; return 1
  fi
  if [[ $current != "$recipe" ]]; then
    echo "image: $IMAGE stale (recipe $current, want $recipe)"; return 2
  fi
  echo "image: $IMAGE present (recipe $recipe)"
}

# Unmount anything debootstrap left mounted below $1, then remove it without crossing file systems.
remove_tree() {
  local dir=$1 mnt
  [[ -d $dir ]] || return 0
  while read -r mnt; do
    umount -l "$mnt" || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

build_rootfs() {
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root"
  command -v debootstrap >/dev/null || die "debootstrap missing: run tests/harness/lab.sh deps"
  mkdir -p "$CACHE"
  local build="$CACHE/rootfs-build" include started
  include=$(IFS=,; echo "${PACKAGES[*]}")
  remove_tree "$build"
  trap 'remove_tree "'"$build"'"; rm -f "'"$tarball"'.part"' EXIT
  log "debootstrap --variant=$VARIANT $SUITE (log: $CACHE/debootstrap.log)"
  started=$SECONDS
  # shellcheck disable=SC2086  # DEBIAN_MIRROR is one word or empty
  if ! debootstrap --variant="$VARIANT" --include="$include" "$SUITE" "$build" $DEBIAN_MIRROR \
      >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed; full log in $CACHE/debootstrap.log"
  fi
  log "debootstrap done in $((SECONDS - started)) s"
  # Package caches only make the image larger; hosts run `apt-get update` before installing.
  rm -rf "$build"/var/cache/apt/archives/*.deb "$build"/var/cache/apt/*.bin "$build"/var/lib/apt/lists/*
  # openssh-server's postinst generated host keys in the root file system: every container of the image would
  # share them. Each host makes its own when its sshd is first started (tests/harness/lab_ssh.sh).
  rm -f "$build"/etc/ssh/ssh_host_*_key "$build"/etc/ssh/ssh_host_*_key.pub
  tar --numeric-owner -C "$build" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  remove_tree "$build"
  trap - EXIT
  # Only the current recipe's tarball is worth keeping.
  find "$CACHE" -maxdepth 1 -name "rootfs-$SUITE-*.tar" ! -name "${tarball##*/}" -delete
}

import_image() {
  local started=$SECONDS old
  old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  log "podman import $tarball -> $IMAGE"
  podman import --quiet \
    --change "LABEL $LABEL=$recipe" \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change 'CMD ["/bin/bash"]' \
    --message "torchfleet test lab: debootstrap $VARIANT $SUITE, recipe $recipe" \
    "$tarball" "$IMAGE" >/dev/null
  log "import done in $((SECONDS - started)) s"
  # The previous build lost its tag; drop it unless a container still uses it.
  if [[ -n $old && $old != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]]; then
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
}

case ${1:-} in
  --status) status; exit $? ;;
  --force) force=1 ;;
  "") force=0 ;;
  *) die "usage: $0 [--force|--status]" ;;
esac

command -v podman >/dev/null || die "podman missing: run tests/harness/lab.sh deps"
if [[ $force -eq 0 && $(image_recipe) == "$recipe" ]]; then
  log "$IMAGE up to date (recipe $recipe), nothing to do"
  exit 0
fi
if [[ $force -eq 1 || ! -s $tarball ]]; then
  build_rootfs
else
  log "reusing cached root file system $tarball"
fi
import_image
status
