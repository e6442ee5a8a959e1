#!/usr/bin/env bash
# What the test node leaves on this machine. `leftovers.sh --state` prints one line per thing of the kind the
# node creates (processes of its run dir or its pod cgroups, the run dir, the bridge, veths, cni-* network
# namespaces, routes and addresses in its ranges, nft tables, KUBE-* iptables chains, mounts, kubepods
# cgroups, files in the host paths the kubelet, containerd and CNI write to even when told to use the run dir).
# `leftovers.sh BEFORE` prints each line of the current state that BEFORE (an earlier --state) lacks, and
# exits 1 if there is one: run.sh records the state before up.sh and checks it after down.sh; up.sh records
# it too, so down.sh removes exactly what appeared. Other users' things are never counted: the e2e suites
# share the tools folder, so a process is ours by its run dir or the node's cgroups, not by its binary.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
real_run_dir=$(realpath -m "$run_dir")

state() {
  local dir pid cmd
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = $$ ] && continue
    cmd=$({ tr '\0' ' ' <"$dir/cmdline"; } 2>/dev/null) || continue
    case "$cmd" in
      *"$run_dir/"* | *"$real_run_dir/"*) echo "process $pid ${cmd:0:160}" ;;
      *) grep -q ':/kubepods' "$dir/cgroup" 2>/dev/null && echo "process $pid (pod cgroup) ${cmd:0:160}" ;;
    esac
  done
  [ -e "$real_run_dir" ] && echo "run-dir $real_run_dir"
  ip -o link show "$bridge" >/dev/null 2>&1 && echo "bridge $bridge"
  ip -o link show type veth 2>/dev/null | awk -F': ' '$2 ~ /^veth/ {sub(/@.*/, "", $2); print "veth " $2}'
  ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print "netns " $1}'
  local cidr
  for cidr in "$pod_cidr" "$node_pod_subnet" "$service_cidr" "$lb_cidr"; do
    ip route show table all 2>/dev/null | grep -e "^$cidr " -e "^blackhole $cidr " | sed 's/^/route /'
  done
  ip -o addr show 2>/dev/null | grep -q "inet $node_ip/" && echo "address $node_ip"
  nft list tables 2>/dev/null | sed 's/^table /nft-table /'
  local tool table
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      "$tool" -t "$table" -S 2>/dev/null | awk -v t="$tool -t $table" '$1 == "-N" && $2 ~ /^KUBE-/ {print "chain " t " " $2}'
    done
  done
  findmnt -rn -o TARGET | grep -e "^$run_dir/" -e "^$real_run_dir/" | sed 's/^/mount /'
  for dir in /sys/fs/cgroup/*/kubepods; do [ -d "$dir" ] && echo "cgroup $dir"; done
  for dir in "${host_paths[@]}"; do [ -e "$dir" ] && find "$dir" 2>/dev/null | sed 's/^/path /'; done
}

if [ "${1:-}" = --state ]; then
  state | LC_ALL=C sort -u
  exit 0
fi
before=${1:-/dev/null}
left=$(state | LC_ALL=C sort -u | LC_ALL=C comm -13 <(LC_ALL=C sort -u "$before") -)
[ -z "$left" ] && exit 0
sed 's/^/left behind: /' <<<"$left" >&2
exit 1
