import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort, type Managed, startProcess, toolsDir } from './processes.ts';
import { waitFor } from './wait.ts';

/** A running etcd + kube-apiserver pair on loopback, with an admin token and the serving CA. */
export interface ClusterHandle {
  /** `https://127.0.0.1:<port>` */
  server: string;
  adminToken: string;
  /** PEM of the apiserver's self-signed serving chain (the kubeconfig's certificate-authority-data). */
  caPem: string;
  dir: string;
  /** Milliseconds from spawning etcd to the apiserver answering /readyz. */
  startupMs: number;
  tools: string;
  /** Stops the apiserver only (etcd keeps the data); `startApiServer` brings it back on the same port. */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  close(): Promise<void>;
}

const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Starts etcd and kube-apiserver with RBAC, a static admin token and ServiceAccount token signing. */
export async function startCluster(): Promise<ClusterHandle> {
  const started = Date.now();
  const tools = toolsDir();
  const dir = await mkdtemp(join(tmpdir(), 'si-e2e-'));
  // A test process that dies early still removes the folder (its children are killed by processes.ts).
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const adminToken = randomBytes(24).toString('hex');
  await writeFile(join(dir, 'tokens.csv'), `${adminToken},e2e-admin,e2e-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
  const etcd = startProcess('etcd', join(tools, 'etcd'), [
    '--name=e2e',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${clientPort}`,
    `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=e2e=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  const server = `https://127.0.0.1:${securePort}`;
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  const apiArgs = [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${securePort}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--etcd-servers=http://127.0.0.1:${clientPort}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    `--service-account-issuer=${SA_ISSUER}`,
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--enable-priority-and-fairness=false',
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
  let apiserver: Managed | undefined;
  const startApiServer = async () => {
    apiserver = startProcess('kube-apiserver', join(tools, 'kube-apiserver'), apiArgs);
    const proc = apiserver;
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`kube-apiserver exited:\n${proc.output()}`);
        const res = await request(`${server}/readyz`, {
          headers: { authorization: `Bearer ${adminToken}` },
          dispatcher: insecure,
        });
        const body = await res.body.text();
        return res.statusCode === 200 && body.trim() === 'ok';
      },
      { timeoutMs: 90_000, intervalMs: 100, maxIntervalMs: 500, description: 'kube-apiserver /readyz' },
    );
  };
  try {
    await startApiServer();
  } catch (err) {
    await apiserver?.stop();
    await etcd.stop();
    const why = `${(err as Error).message}\n--- etcd ---\n${etcd.output()}\n--- apiserver ---\n${apiserver?.output()}`;
    await rm(dir, { recursive: true, force: true });
    throw new Error(why);
  }
  const caPem = await readFile(join(dir, 'certs', 'apiserver.crt'), 'utf8');
  return {
    server,
    adminToken,
    caPem,
    dir,
    tools,
    startupMs: Date.now() - started,
    async stopApiServer() {
      // SIGTERM; open watches are cut by SIGKILL after 2 s (a graceful apiserver would hold them longer).
      await apiserver?.stop(2_000);
    },
    startApiServer,
    async close() {
      await apiserver?.stop(10_000);
      await etcd.stop();
      await insecure.close();
      await rm(dir, { recursive: true, force: true });
      process.off('exit', removeDir);
    },
  };
}
