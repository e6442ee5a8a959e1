# Shared settings of the test node (sourced by up.sh, down.sh, images.sh, run.sh). Everything the node creates
# is named here, so down.sh can remove exactly that and nothing else.
# shellcheck shell=bash
cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$cluster_here/../.." && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/sticky-ingress
tools_dir=${STICKY_TOOLS_DIR:-$cache_root/tools}
image_cache=$cache_root/images
# The run dir holds every config, certificate, socket, state dir and log of one node; down.sh deletes it.
run_dir=${STICKY_CLUSTER_DIR:-/var/run/sticky-cluster}

# Private ranges: pods, Services and the LoadBalancer addresses tests assign. Each gets a blackhole route
# for the node's whole life, so a packet for them can only go to the bridge (the more specific route) or
# be rewritten by kube-proxy; it can never leave the machine.
pod_cidr=10.244.0.0/16
node_pod_subnet=10.244.0.0/24
service_cidr=10.96.0.0/16
lb_cidr=10.245.0.0/24
bridge=stkbr0
# The node's own address: on the bridge, the only interface the API server, kubelet and NodePorts bind to.
node_ip=10.244.0.1
node_name=sticky-node
nft_table=sticky_cluster
containerd_ns=k8s.io
# Host paths the node writes to although told to use the run dir: the CNI result cache (libcni's default),
# the kubelet's device-plugin socket dir, containerd's shim sockets (fixed paths in containerd 1.6), the
# default CNI config dir. up.sh records what is in them; down.sh removes what appeared (leftovers.sh).
host_paths=(/var/lib/cni /var/lib/kubelet /var/lib/containerd /run/containerd /etc/cni /etc/kubernetes /var/log/pods /var/log/containers)

# Images: names the chart, the e2e switch and the kubelet expect (imported, never pulled).
base_image=docker.io/library/node:24-bookworm-slim
product_image=docker.io/library/sticky-ingress:e2e
backend_image=docker.io/library/sticky-backend:e2e
pause_image=registry.k8s.io/pause:3.10.1
node_version=24.21.0
npm_version=11.21.2

# Debian packages the node needs, as "probe:package" (a command on PATH, or a file): up.sh installs the
# missing ones, and so does .ci/run on a fresh machine (one apt transaction with its own).
node_packages=(containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins nft:nftables
  iptables:iptables conntrack:conntrack mmdebstrap:mmdebstrap buildah:buildah gcc:gcc openssl:openssl curl:curl
  /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev sysctl:procps findmnt:util-linux flock:util-linux ip:iproute2)
# Prints the packages of node_packages that are missing here, one a line.
missing_node_packages() {
  local pair what
  for pair in "${node_packages[@]}"; do
    what=${pair%%:*}
    if [[ $what == /* ]]; then [ -e "$what" ] && continue; else command -v "$what" >/dev/null && continue; fi
    echo "${pair#*:}"
  done | sort -u
}

log() { printf '%s [cluster] %s\n' "$(date +%T)" "$*" >&2; }

# One node per machine: takes /tmp/sticky-cluster.lock for the rest of the calling script, refuses to start when a
# node is already up, records the host's state and arranges that, whatever happens, the node is torn down
# (down.sh) and proven clean (leftovers.sh) when the script exits, with its total time logged. Sets $start.
# A script may define node_on_failure (called while the node is still up, when the script fails) first.
# Used by run.sh, e2e-on-node.sh and test/conformance/run.sh.
node_session() {
  exec 9>/tmp/sticky-cluster.lock
  flock 9
  if [ -e "$run_dir" ]; then
    echo "$run_dir exists: a node is up; run test/cluster/down.sh first" >&2
    exit 2
  fi
  start=$SECONDS
  node_state_before=$(mktemp /tmp/sticky-cluster-state.XXXX)
  bash "$cluster_here/leftovers.sh" --state >"$node_state_before"
  trap node_session_end EXIT
}

node_session_end() {
  local status=$?
  if [ "$status" != 0 ] && declare -F node_on_failure >/dev/null; then node_on_failure || true; fi
  bash "$cluster_here/down.sh"
  if ! bash "$cluster_here/leftovers.sh" "$node_state_before"; then
    log "down.sh left the above behind"
    status=1
  fi
  rm -f "$node_state_before"
  log "total $((SECONDS - start)) s"
  exit "$status"
}
