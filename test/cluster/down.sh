#!/usr/bin/env bash
# Tears down the node up.sh started: every container, pod sandbox, network namespace, veth, the bridge,
# the routes, nft tables, cgroups and mounts it created, its processes, and $run_dir. Safe to run twice and
# after a half-finished up.sh. KEEP_LOGS=1 prints the components' logs first (a failed run).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -d "$run_dir" ] || { log "no node at $run_dir"; exit 0; }
if [ "${KEEP_LOGS:-0}" = 1 ]; then
  for f in "$run_dir"/logs/*.log; do [ -e "$f" ] && { echo "--- $f (last 30 lines)" >&2; tail -n 30 "$f" >&2; }; done
fi

t0=$SECONDS
phase() { log "down: $* at $((SECONDS - t0)) s"; }
stop() { # name: SIGTERM, then SIGKILL after 10 s, by the pid up.sh recorded
  local file=$run_dir/pids/$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
# The kubelet first, so nothing restarts what is removed next.
stop kubelet
ctr=(ctr --address "$run_dir/containerd/containerd.sock" --namespace "$containerd_ns")
if "${ctr[@]}" version >/dev/null 2>&1; then
  for id in $("${ctr[@]}" tasks list -q 2>/dev/null); do "${ctr[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
  sleep 1
  for id in $("${ctr[@]}" tasks list -q 2>/dev/null); do "${ctr[@]}" tasks delete -f "$id" >/dev/null 2>&1; done
  for id in $("${ctr[@]}" containers list -q 2>/dev/null); do "${ctr[@]}" containers delete "$id" >/dev/null 2>&1; done
fi
phase "containers removed"
for name in kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do stop "$name"; done
# containerd's shims outlive it: end those serving this node's containerd (found by its socket path).
for dir in /proc/[0-9]*; do
  if { tr '\0' ' ' <"$dir/cmdline"; } 2>/dev/null | grep -q -e "-address $run_dir/containerd/containerd.sock" -e "-address /run/sticky-cluster/containerd/containerd.sock"; then
    kill -KILL "${dir#/proc/}" 2>/dev/null
  fi
done

phase "processes stopped"
# Pod network namespaces (CRI names them cni-*) that appeared while the node was up; their veths go with them.
if [ -f "$run_dir/netns-before" ]; then
  for ns in $(ip netns list | awk '{print $1}' | sort | comm -13 "$run_dir/netns-before" -); do
    [[ $ns == cni-* ]] && ip netns delete "$ns"
  done
fi
for link in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  ip link delete "$link" 2>/dev/null
done
ip link delete "$bridge" 2>/dev/null
for cidr in "$pod_cidr" "$service_cidr" "$lb_cidr"; do ip route del blackhole "$cidr" 2>/dev/null; done
nft delete table ip "$nft_table" 2>/dev/null
# kube-proxy's own tables (nftables mode), and the kubelet's KUBE-* chains.
nft delete table ip kube-proxy 2>/dev/null
nft delete table ip6 kube-proxy 2>/dev/null
for cmd in iptables ip6tables; do
  command -v "$cmd" >/dev/null || continue
  for table in filter nat mangle; do
    for chain in $("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      "$cmd" -t "$table" -S 2>/dev/null | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "( |$)") && $2 != c' |
        while read -r _ rest; do eval "$cmd -t $table -D $rest" 2>/dev/null; done
      "$cmd" -t "$table" -F "$chain" 2>/dev/null
    done
    for chain in $("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      "$cmd" -t "$table" -X "$chain" 2>/dev/null
    done
  done
done
if [ -f "$run_dir/sysctl-before" ]; then
  while read -r line; do sysctl -qw "$line" 2>/dev/null; done <"$run_dir/sysctl-before"
fi

phase "network removed"
# Mounts under the run dir (pod volumes, sandbox /dev/shm, container rootfs), deepest first.
# findmnt shows the resolved path (/var/run is a link to /run on Debian).
real_run_dir=$(realpath "$run_dir")
findmnt -rn -o TARGET | grep -e "^$run_dir/" -e "^$real_run_dir/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
phase "mounts removed"
# The kubelet's cgroups (cgroup v1, cgroupfs driver): /kubepods in every hierarchy, deepest first.
for hierarchy in /sys/fs/cgroup/*/; do
  [ -d "$hierarchy/kubepods" ] && find "$hierarchy/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
done
phase "cgroups removed"
# Whatever else appeared while the node was up: files in the host paths the kubelet, containerd and CNI use
# by fixed path (lib.sh), and the tables iptables-nft made for the kubelet's KUBE-* chains (emptied above;
# a table that still has a rule is someone else's and stays).
if [ -f "$run_dir/state-before" ]; then
  appeared=$(bash "$cluster_here/leftovers.sh" "$run_dir/state-before" 2>&1 >/dev/null | sed 's/^left behind: //')
  while read -r family name; do
    nft list table "$family" "$name" 2>/dev/null | grep -qvE '^\s*(table |chain |type |}|$)' ||
      nft delete table "$family" "$name" 2>/dev/null
  done < <(awk '$1 == "nft-table" {print $2, $3}' <<<"$appeared")
  awk '$1 == "path" {print $2}' <<<"$appeared" | sort -r | while read -r path; do rm -rf "$path"; done
fi
phase "host paths removed"
rm -rf "$run_dir"
log "node torn down in $((SECONDS - t0)) s"
