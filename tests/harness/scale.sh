#!/usr/bin/env bash
# make scale: site.yml on eight lab hosts at once, one of them broken (its route to the mirror cut), then again
# with the host fixed, then on one host alone for the wall-time ratio. Checks, from Ansible's own recap and the
# torchfleet.lab.fleet_summary callback's JSON:
#   run 1 (8 hosts): the broken host fails, the other seven complete; the summary names the broken host and why
#   run 2 (8 hosts, the broken host's route restored): it completes; the seven others change nothing
#   run 3 (1 fresh host): the same provisioning alone, for the 8-host / 1-host wall-time ratio
# Writes build/scale/RESULTS.md and the logs beside it. The hosts are Debian 12 containers of the lab image
# (podman connection); the broken host sits on an --internal podman network (no gateway, so no route to the
# mirror) until it is connected to the lab network. Only lab addresses are used: the mirror is served on the
# lab network's gateway. `TORCHFLEET_SCALE_KEEP=1` keeps the hosts afterwards.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
eval "$("$HERE/lab.sh" env)"
N=${TORCHFLEET_SCALE_HOSTS:-8}
PORT=${TORCHFLEET_SCALE_PORT:-8785}
NET=torchfleet-scale
CUT=torchfleet-scale-cut
OUT=$REPO/build/scale
BROKEN=tf-scale-$N
SOLO=tf-scale-solo
PIDFILE=$OUT/mirror.pid

log() { printf 'scale: %s\n' "$*"; }
die() { printf 'scale: FAILED: %s\n' "$*" >&2; exit 1; }

clean() {
  local host
  for host in $(podman ps -a --format '{{.Names}}' | grep -E '^tf-scale-' || true); do
    podman rm -f -t 0 "$host" >/dev/null
  done
  if [[ -s $PIDFILE ]]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
  podman network rm -f "$NET" "$CUT" >/dev/null 2>&1 || true
}

if [[ ${1:-} == clean ]]; then clean; exit 0; fi

"$HERE/lab.sh" up
clean
trap '[[ ${TORCHFLEET_SCALE_KEEP:-0} == 1 ]] || clean' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.json "$OUT"/RESULTS.md
podman network create "$NET" >/dev/null
podman network create --internal "$CUT" >/dev/null

start_host() {  # name network
  podman run -d --name "$1" --hostname "$1" --network "$2" "$TORCHFLEET_LAB_IMAGE" sleep infinity >/dev/null
}
hosts=()
for i in $(seq "$N"); do
  hosts+=("tf-scale-$i")
  start_host "tf-scale-$i" "$([[ tf-scale-$i == "$BROKEN" ]] && echo "$CUT" || echo "$NET")"
done
start_host "$SOLO" "$NET"

# The bridge gets its gateway address once a container is attached to it: serve the mirror there now. curl is
# told to bypass any proxy of the machine's: the address is the lab's own.
gateway=$(podman network inspect "$NET" --format '{{(index .Subnets 0).Gateway}}')
python3 -m http.server "$PORT" --bind "$gateway" --directory "$TORCHFLEET_MIRROR_DIR" >"$OUT/mirror.log" 2>&1 &
echo $! >"$PIDFILE"
for _try in $(seq 20); do
  curl --noproxy '*' -fsS -o /dev/null "http://$gateway:$PORT/mnist/SHA256SUMS" && break
  sleep 1
done
curl --noproxy '*' -fsS -o /dev/null "http://$gateway:$PORT/mnist/SHA256SUMS" \
  || die "the mirror on $gateway:$PORT did not start ($OUT/mirror.log)"

inventory() {  # hosts...
  printf 'all:\n  vars:\n'
  cat <<VARS
    ansible_connection: containers.podman.podman
    ansible_python_interpreter: /usr/bin/python3
    torchfleet_mirror_url: http://$gateway:$PORT
    pytorch_version: "$TORCHFLEET_TORCH_VERSION"
    pytorch_python_version: "3.11"
    pytorch_env_packages: [torch]
    pytorch_env_manager: uv
    pytorch_env_scope: system
    pytorch_env_uv_version: $TORCHFLEET_UV_VERSION
    pytorch_env_uv_python_downloads: never
VARS
  printf '  hosts:\n'
  printf '    %s:\n' "$@"
}
inventory "${hosts[@]}" >"$OUT/fleet.yml"
inventory "$SOLO" >"$OUT/solo.yml"

export ANSIBLE_CALLBACKS_ENABLED=torchfleet.lab.fleet_summary,torchfleet.lab.preload ANSIBLE_FORKS=$N ANSIBLE_INJECT_FACT_VARS=false
run() {  # name inventory expected-rc
  local started rc=0
  started=$(date +%s%N)
  TORCHFLEET_SUMMARY_PATH=$OUT/$1-summary.json \
    ansible-playbook -i "$OUT/$2" "$REPO/playbooks/site.yml" >"$OUT/$1.log" 2>&1 || rc=$?
  python3 -c 'import sys; print(f"{(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.1f}")' "$started" "$(date +%s%N)" \
    >"$OUT/$1.seconds"
  log "$1: rc $rc in $(cat "$OUT/$1.seconds") s (log: $OUT/$1.log)"
  [[ $rc == "$3" ]] || { tail -n 40 "$OUT/$1.log" >&2; die "$1: ansible-playbook exited $rc, expected $3"; }
}
recap() {  # log host field -> the field's count in the host's PLAY RECAP line
  sed -n '/^PLAY RECAP/,$p' "$1" | awk -v h="$2" -v f="$3=" '$1 == h { for (i = 1; i <= NF; i++) if (index($i, f) == 1) { sub(f, "", $i); print $i } }'
}

log "run 1: site.yml on $N hosts, $BROKEN without a route to the mirror"
run run1 fleet.yml 2
for host in "${hosts[@]}"; do
  failed=$(recap "$OUT/run1.log" "$host" failed); unreachable=$(recap "$OUT/run1.log" "$host" unreachable)
  if [[ $host == "$BROKEN" ]]; then
    [[ $failed == 1 ]] || die "run 1: $host should have failed (failed=$failed)"
  else
    [[ $failed == 0 && $unreachable == 0 ]] || die "run 1: $host failed=$failed unreachable=$unreachable"
  fi
done
python3 - "$OUT/run1-summary.json" "$BROKEN" "$((N - 1))" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
hosts = [e["host"] for e in summary["hosts"]]
assert hosts == [sys.argv[2]], f"the summary names {hosts}, not [{sys.argv[2]}]"
assert summary["hosts"][0]["reason"] not in ("", "no message"), summary
assert len(summary["completed"]) == int(sys.argv[3]), summary["completed"]
PY
reason=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["hosts"][0]; print(e["task"] + ": " + e["reason"])' "$OUT/run1-summary.json")
log "run 1: the summary names $BROKEN: $reason"

log "run 2: $BROKEN connected to the lab network; site.yml on $N hosts again"
podman network connect "$NET" "$BROKEN"
run run2 fleet.yml 0
for host in "${hosts[@]}"; do
  changed=$(recap "$OUT/run2.log" "$host" changed)
  if [[ $host == "$BROKEN" ]]; then
    [[ $changed -gt 0 ]] || die "run 2: $host changed nothing; it should have been provisioned"
  else
    [[ $changed == 0 ]] || die "run 2: $host changed $changed things; a re-run must change nothing"
  fi
done

log "run 3: site.yml on one fresh host alone"
run run3 solo.yml 0

t8=$(cat "$OUT/run1.seconds"); t1=$(cat "$OUT/run3.seconds"); t2=$(cat "$OUT/run2.seconds")
ratio=$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$t8" "$t1")
cat >"$OUT/RESULTS.md" <<MD
# make scale ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $(nproc) CPU cores, $(free -g | awk '/^Mem:/ {print $2}') GiB memory; ansible-core $(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p'), forks $N, podman connection; command: \`make scale\`.

| Run | Hosts | Wall time (s) | Outcome |
|---|---|---|---|
| 1 | $N ($BROKEN without a route to the mirror) | $t8 | $((N - 1)) completed; $BROKEN failed: $reason |
| 2 | $N ($BROKEN fixed) | $t2 | $BROKEN provisioned; the $((N - 1)) others changed=0 |
| 3 | 1 (fresh) | $t1 | provisioned |

Run 1 against run 3: **${ratio}x** the wall time of one host, for $N hosts.
MD
cat "$OUT/RESULTS.md"
