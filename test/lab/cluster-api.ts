import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabInfo, LabNode } from './lab-info.js';
import { makeLeaf } from './pki.js';
import { IN_NODE_NODES } from './sims/cluster-api.mjs';

/**
 * A managed control plane for a lab (EKS, GKE, AKS: nobody can SSH to it): the kube-apiserver
 * simulator (sims/cluster-api.mjs) run on the host, on the lab bridge, serving the lab's kubelet
 * nodes as Node objects and proxying to their kubelets with the lab's apiserver-kubelet-client
 * pair. Its kubeconfig has two contexts: `lab` (client certificate) and `lab-token` (bearer
 * token); `lab-forbidden` is a user without RBAC rights (403).
 */
export interface ClusterApi {
  /** `<lab dir>/cluster/kubeconfig` */
  kubeconfig: string;
  server: string;
  /** Node name → EC2-style instance id in its spec.providerID (`aws:///lab-1a/i-…`). */
  instanceIds: Record<string, string>;
  stop(): Promise<void>;
}

const SIM = join(dirname(fileURLToPath(import.meta.url)), 'sims', 'kube-apiserver.mjs');
export const CLUSTER_API_PORT = 6443;

/** An instance id per node, fixed by its address (i- and 17 hex digits, as EC2's). */
export const instanceId = (node: Pick<LabNode, 'host'>): string =>
  `i-${Buffer.from(node.host.split('.').map(Number)).toString('hex').padStart(17, '0')}`;

function nodeObject(node: LabNode) {
  return {
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubemend.lab/layout': node.layout,
        ...(node.role === 'control-plane' ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
    },
    spec: { providerID: `aws:///lab-1a/${instanceId(node)}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: node.host },
        { type: 'Hostname', address: node.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/**
 * Writes a kubeconfig for the lab's cluster at `server`: each context names a user of the same
 * name (`lab` → `lab-admin`, the admin's client certificate); the first context is current.
 */
async function writeKubeconfig(
  lab: LabInfo,
  file: string,
  server: string,
  users: { context: string; user: string; credential: string }[],
): Promise<void> {
  const ca = b64(await readFile(join(lab.pkiDir, 'ca.crt'), 'utf8'));
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${lab.name}`,
      `  cluster: { server: "${server}", certificate-authority-data: ${ca} }`,
      'users:',
      ...users.flatMap((u) => [`- name: ${u.user}`, `  user: { ${u.credential} }`]),
      'contexts:',
      ...users.flatMap((u) => [
        `- name: ${u.context}`,
        `  context: { cluster: ${lab.name}, user: ${u.user} }`,
      ]),
      `current-context: ${users[0]!.context}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

const adminUser = (admin: { crt: string; key: string }) => ({
  context: 'lab',
  user: 'lab-admin',
  credential: `client-certificate-data: ${b64(admin.crt)}, client-key-data: ${b64(admin.key)}`,
});

/** The lab's kubelet nodes as the API lists them (JSON). */
export const nodeListJson = (lab: LabInfo): string =>
  JSON.stringify(lab.nodes.filter((n) => n.role !== 'none').map(nodeObject), null, 2);

/** The admin's client pair (O system:masters), signed by the cluster CA every lab API server trusts. */
const labAdmin = (lab: LabInfo) =>
  makeLeaf(lab.pkiDir, 'lab-admin', 'ca', {
    alg: 'ec',
    cn: 'kubernetes-admin',
    org: 'system:masters',
    usage: 'clientAuth',
  });

/**
 * A self-managed control plane's own API server: the kube-apiserver simulator that node runs (its
 * manifest's flags: --client-ca-file, --tls-cert-file, --kubelet-client-certificate) serves the
 * nodes API once IN_NODE_NODES holds the node list, which the caller writes there (`nodes`). Its
 * node proxy dials kubelets with the pair that kube-apiserver was started with, so after an
 * apiserver change it proves the new pair, as the real one does. The kubeconfig (context `lab`,
 * the admin's client certificate) points at that node's address.
 */
export async function controlPlaneApi(
  lab: LabInfo,
  cp: LabNode,
): Promise<{ kubeconfig: string; server: string; nodes: string; nodesPath: string }> {
  const dir = join(lab.dir, 'cluster');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const admin = await labAdmin(lab);
  const server = `https://${cp.host}:${CLUSTER_API_PORT}`;
  const kubeconfig = join(dir, `${cp.name}.kubeconfig`);
  await writeKubeconfig(lab, kubeconfig, server, [adminUser(admin)]);
  return { kubeconfig, server, nodes: nodeListJson(lab), nodesPath: IN_NODE_NODES };
}

/** Writes the cluster's files under `<lab dir>/cluster` and starts the API server on the host. */
export async function startClusterApi(lab: LabInfo): Promise<ClusterApi> {
  const dir = join(lab.dir, 'cluster');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const kubeletNodes = lab.nodes.filter((n) => n.role !== 'none');
  const nodesFile = join(dir, 'nodes.json');
  await writeFile(nodesFile, nodeListJson(lab));
  const [, admin] = await Promise.all([
    makeLeaf(lab.pkiDir, 'managed-apiserver', 'ca', {
      alg: 'ec',
      cn: 'kube-apiserver',
      usage: 'serverAuth',
      sans: [`IP:${lab.hostAddress}`],
    }),
    labAdmin(lab),
  ]);
  const token = randomBytes(16).toString('hex');
  const forbidden = randomBytes(16).toString('hex');
  const tokensFile = join(dir, 'tokens.csv');
  await writeFile(tokensFile, `${token},lab-admin,1\n${forbidden},forbidden,2\n`, { mode: 0o600 });
  const server = `https://${lab.hostAddress}:${CLUSTER_API_PORT}`;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(lab, kubeconfig, server, [
    adminUser(admin),
    { context: 'lab-token', user: 'lab-token', credential: `token: ${token}` },
    { context: 'lab-forbidden', user: 'lab-forbidden', credential: `token: ${forbidden}` },
  ]);
  const pki = (name: string) => join(lab.pkiDir, name);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      SIM,
      `--bind-address=${lab.hostAddress}`,
      `--secure-port=${CLUSTER_API_PORT}`,
      `--tls-cert-file=${pki('managed-apiserver.crt')}`,
      `--tls-private-key-file=${pki('managed-apiserver.key')}`,
      `--client-ca-file=${pki('ca.crt')}`,
      `--token-auth-file=${tokensFile}`,
      `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
    ],
    { env: { ...process.env, KUBE_APISERVER_SIM_NODES: nodesFile }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await waitListening(lab.hostAddress, CLUSTER_API_PORT, exited, () => stderr);
  return {
    kubeconfig,
    server,
    instanceIds: Object.fromEntries(kubeletNodes.map((n) => [n.name, instanceId(n)])),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitListening(host: string, port: number, exited: Promise<void>, stderr: () => string) {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 100; i++) {
    if (gone) throw new Error(`the lab's kube-apiserver exited: ${stderr()}`);
    const up = await new Promise<boolean>((done) => {
      const socket = connect(port, host, () => {
        socket.end();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the lab's kube-apiserver did not listen on ${host}:${port}: ${stderr()}`);
}
