#!/usr/bin/env bash
# Brings up a single-node Kubernetes on this machine for tests, modelled on Kubernetes'
# hack/local-up-cluster.sh: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd + runc,
# kubelet, kube-proxy (nftables) and a CNI bridge, all as processes with their state in $run_dir.
# Images are built from the repository (images.sh) and imported; containerd never pulls.
# Needs root. Prints the admin kubeconfig's path on its last line. down.sh undoes everything.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "up.sh needs root (network, mounts, containers)" >&2; exit 2; }
if [ -e "$run_dir" ]; then echo "$run_dir exists: a node is up (or was not torn down); run down.sh" >&2; exit 2; fi
start=$SECONDS

# ---- Debian packages, installed when absent ------------------------------------------------------------
mapfile -t need < <(missing_node_packages)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- binaries and images (both cached) ----------------------------------------------------------------
log "binaries (test/e2e/tools/build.sh --node)"
bash "$repo_root/test/e2e/tools/build.sh" --node >/dev/null
images=$(bash "$cluster_here/images.sh")
log "binaries and images ready at $((SECONDS - start)) s"

# What the machine has before the node: down.sh removes what appears beyond it (leftovers.sh).
state_before=$(bash "$cluster_here/leftovers.sh" --state)
mkdir -p "$run_dir"/{logs,pids,pki,cni/net.d,cni/ipam,kubelet,pod-logs,containerd}
printf '%s\n' "$state_before" >"$run_dir/state-before"
# From here on, a failure tears down what was started.
trap 'status=$?; if [ $status != 0 ]; then log "up.sh failed; logs in $run_dir/logs are printed by down.sh"; KEEP_LOGS=1 bash "$cluster_here/down.sh"; fi' EXIT
ip netns list | awk '{print $1}' | sort >"$run_dir/netns-before"

# ---- network: bridge, blackhole routes, forwarding filter ---------------------------------------------
log "network: $bridge $node_ip, blackholes for $pod_cidr $service_cidr $lb_cidr"
modprobe br_netfilter 2>/dev/null || true
for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables; do
  echo "$key=$(sysctl -n "$key")" >>"$run_dir/sysctl-before"
  sysctl -qw "$key=1"
done
# Service and LoadBalancer ranges route to the bridge (metric 10) so the host's own connects pass the routing
# lookup and reach kube-proxy's DNAT; the blackholes (metric 100) take over if the bridge is ever gone.
for cidr in "$pod_cidr" "$service_cidr" "$lb_cidr"; do ip route add blackhole "$cidr" metric 100; done
ip link add "$bridge" type bridge
ip addr add "$node_ip/24" dev "$bridge"
ip link set "$bridge" up
for cidr in "$service_cidr" "$lb_cidr"; do ip route add "$cidr" dev "$bridge" metric 10; done
# Pods talk to each other, to the node and to Services; nothing they send is forwarded anywhere else.
nft -f - <<NFT
table ip $nft_table {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    ip saddr $pod_cidr ip daddr != $pod_cidr drop
    iifname "$bridge" oifname != "$bridge" drop
  }
}
NFT

# ---- PKI: a CA for client certificates, tokens for the components ---------------------------------------
pki=$run_dir/pki
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sticky-cluster-ca -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
# The apiserver's client certificate towards the kubelet (logs, exec): a cluster admin.
openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
  -keyout "$pki/apiserver-kubelet-client.key" -out "$pki/apiserver-kubelet-client.csr" 2>/dev/null
openssl x509 -req -in "$pki/apiserver-kubelet-client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 2 -out "$pki/apiserver-kubelet-client.crt" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
: >"$pki/tokens.csv"
token_for() { # user groups -> token (appended to tokens.csv)
  local token
  token=$(openssl rand -hex 24)
  printf '%s,%s,%s,"%s"\n' "$token" "$1" "$1" "$2" >>"$pki/tokens.csv"
  echo "$token"
}
kubeconfig() { # file token
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: sticky
    cluster: { server: "https://$node_ip:6443", certificate-authority: "$pki/apiserver.crt" }
users:
  - name: user
    user: { token: "$2" }
contexts:
  - name: sticky
    context: { cluster: sticky, user: user }
current-context: sticky
KC
}
kubeconfig "$run_dir/admin.kubeconfig" "$(token_for sticky-admin system:masters)"
kubeconfig "$run_dir/kubelet.kubeconfig" "$(token_for "system:node:$node_name" system:nodes)"
kubeconfig "$run_dir/kube-proxy.kubeconfig" "$(token_for system:kube-proxy system:node-proxier)"
kubeconfig "$run_dir/controller-manager.kubeconfig" "$(token_for system:kube-controller-manager "")"
kubeconfig "$run_dir/scheduler.kubeconfig" "$(token_for system:kube-scheduler "")"

daemon() { # name command... : runs in its own session; its pid in pids/NAME, output in logs/NAME.log
  local name=$1
  shift
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$run_dir/pids/$name" "$@" >"$run_dir/logs/$name.log" 2>&1 </dev/null &
}
wait_until() { # description tries command... (one try a second)
  local what=$1 tries=$2
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "timed out waiting for $what" >&2
  return 1
}

# ---- control plane -----------------------------------------------------------------------------------
log "etcd, kube-apiserver"
daemon etcd "$tools_dir/etcd" --name=sticky --data-dir="$run_dir/etcd" \
  --listen-client-urls=http://127.0.0.1:12379 --advertise-client-urls=http://127.0.0.1:12379 \
  --listen-peer-urls=http://127.0.0.1:12380 --initial-advertise-peer-urls=http://127.0.0.1:12380 \
  --initial-cluster=sticky=http://127.0.0.1:12380 --unsafe-no-fsync --log-level=warn
daemon kube-apiserver "$tools_dir/kube-apiserver" --bind-address="$node_ip" --advertise-address="$node_ip" \
  --secure-port=6443 --cert-dir="$pki" --etcd-servers=http://127.0.0.1:12379 \
  --authorization-mode=Node,RBAC --token-auth-file="$pki/tokens.csv" --allow-privileged=true \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$service_cidr" --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" --profiling=false \
  --kubelet-preferred-address-types=InternalIP # no DNS for the node's name here
kubectl=("$tools_dir/kubectl" --kubeconfig "$run_dir/admin.kubeconfig")
wait_until "kube-apiserver /readyz" 120 "${kubectl[@]}" get --raw /readyz

log "kube-controller-manager, kube-scheduler"
# The apiserver's self-signed serving certificate (with its CA) is what pods trust as ca.crt.
daemon kube-controller-manager "$tools_dir/kube-controller-manager" \
  --kubeconfig="$run_dir/controller-manager.kubeconfig" --authentication-kubeconfig="$run_dir/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$run_dir/controller-manager.kubeconfig" --bind-address=127.0.0.1 --secure-port=10257 \
  --leader-elect=false --use-service-account-credentials=true --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/apiserver.crt" --service-cluster-ip-range="$service_cidr" --controllers='*'
daemon kube-scheduler "$tools_dir/kube-scheduler" --kubeconfig="$run_dir/scheduler.kubeconfig" \
  --authentication-kubeconfig="$run_dir/scheduler.kubeconfig" --authorization-kubeconfig="$run_dir/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false

# ---- containerd: its own root, state, socket; images imported, never pulled ------------------------------
log "containerd"
ctrd=$run_dir/containerd
cat >"$ctrd/config.toml" <<TOML
version = 2
root = "$ctrd/root"
state = "$ctrd/state"
[grpc]
  address = "$ctrd/containerd.sock"
[ttrpc]
  address = "$ctrd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$ctrd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  enable_selinux = false
  # This kernel refuses a negative oom_score_adj even to root (EIO), and the kubelet asks -998 for every pod
  # sandbox: runc then dies in nsexec ("can't get final child's PID"). Clamp to containerd's own (0).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$ctrd/runc" # runc's state in the run dir, not /run/containerd/runc
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$run_dir/cni/net.d"
TOML
daemon containerd containerd --config "$ctrd/config.toml"
ctr=(ctr --address "$ctrd/containerd.sock" --namespace "$containerd_ns")
wait_until "containerd" 30 "${ctr[@]}" version
while read -r name archive; do
  log "importing $name"
  "${ctr[@]}" images import --no-unpack=false "$archive" >/dev/null
done <<<"$(printf '%s %s\n' $images)"

cat >"$run_dir/cni/net.d/10-sticky.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "sticky",
  "plugins": [
    {
      "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$run_dir/cni/ipam",
        "ranges": [[{ "subnet": "$node_pod_subnet", "rangeStart": "10.244.0.10", "gateway": "$node_ip" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
CNI

# ---- kubelet ------------------------------------------------------------------------------------------
log "kubelet"
echo "nameserver 127.0.0.1" >"$run_dir/resolv.conf" # no DNS leaves a pod; none is needed (Service env vars)
cat >"$run_dir/kubelet.yaml" <<KCFG
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 is deprecated from 1.35: the kubelet refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
address: $node_ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
containerRuntimeEndpoint: unix://$ctrd/containerd.sock
podLogsDir: $run_dir/pod-logs
resolvConf: $run_dir/resolv.conf
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
# A shared test machine: never evict for disk, never garbage-collect the imported images.
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
KCFG
daemon kubelet "$tools_dir/kubelet" --config="$run_dir/kubelet.yaml" --kubeconfig="$run_dir/kubelet.kubeconfig" \
  --hostname-override="$node_name" --node-ip="$node_ip" --root-dir="$run_dir/kubelet" \
  --cert-dir="$run_dir/kubelet/pki" --v=1

# ---- kube-proxy (nftables): NodePorts on the node address only ----------------------------------------
log "kube-proxy"
cat >"$run_dir/kube-proxy.yaml" <<KP
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: { kubeconfig: $run_dir/kube-proxy.kubeconfig }
hostnameOverride: $node_name
clusterCIDR: $pod_cidr
nodePortAddresses: ["$node_ip/32"]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: { maxPerCore: 0 }
KP
daemon kube-proxy "$tools_dir/kube-proxy" --config="$run_dir/kube-proxy.yaml"

node_ready() {
  [ "$("${kubectl[@]}" get node "$node_name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_until "node $node_name Ready" 120 node_ready
wait_until "default ServiceAccount" 60 "${kubectl[@]}" -n default get serviceaccount default
trap - EXIT
log "node up in $((SECONDS - start)) s"
echo "$run_dir/admin.kubeconfig"
