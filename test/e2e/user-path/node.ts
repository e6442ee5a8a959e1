import { execFile, spawn } from 'node:child_process';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';

const run = promisify(execFile);

/**
 * The single-node cluster test/cluster/run.sh brought up, as the user's-path suite sees it. The only reader
 * of the STICKY_CLUSTER_* variables (run.sh sets them after up.sh succeeded).
 */
export interface TestNode {
  kubeconfig: string;
  /** Folder with helm and kubectl (test/e2e/tools/build.sh --node). */
  tools: string;
  /** The node's address (kubelet, NodePorts). */
  nodeIp: string;
  /** A LoadBalancer address the suite assigns to the chart's Service (blackholed range, kube-proxy serves it). */
  lbAddress: string;
  /** Image names as containerd knows them (imported by up.sh, never pulled). */
  productImage: { repository: string; tag: string };
  backendImage: string;
}

/** The node's settings, or undefined when no node is up (then the suite registers no tests). */
export function testNode(): TestNode | undefined {
  const kubeconfig = process.env.STICKY_CLUSTER_KUBECONFIG;
  if (!kubeconfig) return undefined;
  const need = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (run the suite with test/cluster/run.sh)`);
    return value;
  };
  const image = need('STICKY_CLUSTER_IMAGE');
  const colon = image.lastIndexOf(':');
  return {
    kubeconfig,
    tools: need('STICKY_CLUSTER_TOOLS'),
    nodeIp: need('STICKY_CLUSTER_NODE_IP'),
    lbAddress: need('STICKY_CLUSTER_LB_ADDRESS'),
    productImage: { repository: image.slice(0, colon), tag: image.slice(colon + 1) },
    backendImage: need('STICKY_CLUSTER_BACKEND_IMAGE'),
  };
}

/** Runs kubectl against the node; resolves with stdout, rejects with stderr in the message. */
export async function kubectl(node: TestNode, args: string[], timeoutMs = 180_000): Promise<string> {
  return tool(node, 'kubectl', args, timeoutMs);
}

/** `kubectl apply` of objects the e2e framework's client has no path for (Deployments). */
export function kubectlApply(node: TestNode, objects: object[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${node.tools}/kubectl`, ['--kubeconfig', node.kubeconfig, 'apply', '-f', '-'], {
      timeout: 60_000,
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl apply: ${out}`))));
    child.stdin.end(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  });
}

/** Runs helm against the node (same contract as kubectl). */
export async function helm(node: TestNode, args: string[], timeoutMs = 300_000): Promise<string> {
  return tool(node, 'helm', args, timeoutMs);
}

async function tool(node: TestNode, name: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(`${node.tools}/${name}`, ['--kubeconfig', node.kubeconfig, ...args], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${name} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/** What a client sees of one response. */
export interface Seen {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** `x-backend-id`: the pod that answered. */
  backend: string | undefined;
  setCookie: string[];
}

const agents = new Map<string, Agent>();
function agent(servername: string, ca: string | undefined): Agent {
  const key = `${servername}\n${ca ?? ''}`;
  let a = agents.get(key);
  if (!a) {
    // A fresh connection per request, like separate browser tabs: each TLS handshake sees the current cert.
    a = new Agent({
      connect: ca ? { servername, ca } : { servername, rejectUnauthorized: false },
      pipelining: 0,
      keepAliveTimeout: 1,
    });
    agents.set(key, a);
  }
  return a;
}

/**
 * GET `url` (its authority an address) as a browser on `host` would: Host header and SNI `host`; with `ca`
 * the certificate must verify for `host`.
 */
export async function browse(
  url: string,
  host: string,
  opts: { cookie?: string; ca?: string; timeoutMs?: number } = {},
): Promise<Seen> {
  const res = await request(url, {
    headers: { host, ...(opts.cookie ? { cookie: opts.cookie } : {}) },
    dispatcher: agent(host, opts.ca),
    headersTimeout: opts.timeoutMs ?? 10_000,
    bodyTimeout: opts.timeoutMs ?? 10_000,
  });
  const text = await res.body.text();
  const raw = res.headers['set-cookie'];
  const id = res.headers['x-backend-id'];
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    backend: typeof id === 'string' ? id : undefined,
    setCookie: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
  };
}

/** The PEM certificate presented at `address:port` for SNI `servername`. */
export function servedCertificate(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, servername, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      if (!raw) reject(new Error('no peer certificate'));
      else resolve(raw.toString('base64'));
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

/** Closes the shared agents (call in `after`). */
export async function closeAgents(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close()));
  agents.clear();
}
