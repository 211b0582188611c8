import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './exec.js';

/**
 * One cluster PKI per lab, made with openssl on the host (like kubeadm's certs phase would): the
 * lab knows every key, and tests can check chains against the same CA the nodes use.
 */
export interface CertPair {
  crt: string;
  key: string;
}

export interface LabPki {
  dir: string;
  ca: CertPair;
  apiserver: CertPair;
  apiserverKubeletClient: CertPair;
  apiserverEtcdClient: CertPair;
  frontProxyCa: CertPair;
  frontProxyClient: CertPair;
  etcdCa: CertPair;
  etcdServer: CertPair;
  sa: { key: string; pub: string };
  /** kubespray-style node certs (node-<name>.pem), keyed by node name. */
  nodes: Record<string, CertPair>;
}

/**
 * RSA 2048 (kubeadm's default) for the CA and the two certs the controls are about; ECDSA P-256
 * (kubeadm's other encryptionAlgorithm) for the rest: RSA key generation costs ~0.4 s per key on
 * a 2-core machine and would dominate `up`.
 */
type KeyAlg = 'rsa' | 'ec';
const newKey = (alg: KeyAlg): string[] =>
  alg === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

interface LeafSpec {
  alg: KeyAlg;
  cn: string;
  org?: string;
  usage: 'clientAuth' | 'serverAuth' | 'serverAuth,clientAuth';
  sans?: string[];
}

async function makeCa(dir: string, name: string, cn: string, alg: KeyAlg): Promise<CertPair> {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  // prettier-ignore
  await runOk('openssl', [
    'req', '-x509', ...newKey(alg), '-nodes', '-keyout', key, '-out', crt, '-days', '3650', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', `keyUsage=critical,digitalSignature,${alg === 'rsa' ? 'keyEncipherment,' : ''}keyCertSign`,
  ]);
  return { crt: await readFile(crt, 'utf8'), key: await readFile(key, 'utf8') };
}

export async function makeLeaf(dir: string, name: string, ca: string, spec: LeafSpec): Promise<CertPair> {
  const base = join(dir, name);
  const subj = `${spec.org ? `/O=${spec.org}` : ''}/CN=${spec.cn}`;
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    `keyUsage=critical,digitalSignature${spec.alg === 'rsa' ? ',keyEncipherment' : ''}`,
    `extendedKeyUsage=${spec.usage}`,
    ...(spec.sans?.length ? [`subjectAltName=${spec.sans.join(',')}`] : []),
  ].join('\n');
  await writeFile(`${base}.ext`, `${ext}\n`);
  // prettier-ignore
  await runOk('openssl', [
    'req', '-new', ...newKey(spec.alg), '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subj,
  ]);
  // prettier-ignore
  await runOk('openssl', [
    'x509', '-req', '-in', `${base}.csr`, '-CA', join(dir, `${ca}.crt`), '-CAkey', join(dir, `${ca}.key`),
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '365', '-extfile', `${base}.ext`, '-out', `${base}.crt`,
  ]);
  await rm(`${base}.csr`);
  await rm(`${base}.ext`);
  return { crt: await readFile(`${base}.crt`, 'utf8'), key: await readFile(`${base}.key`, 'utf8') };
}

/**
 * @param addresses every node address of the lab: the serving certs name them all, so any
 *   control-plane node can present them.
 * @param kubesprayNodes node names that get a kubespray `node-<name>.pem` cert.
 */
export async function createLabPki(
  labDir: string,
  addresses: string[],
  kubesprayNodes: string[],
): Promise<LabPki> {
  const dir = join(labDir, 'pki');
  await mkdir(join(dir, 'etcd'), { recursive: true });
  const [ca, frontProxyCa, etcdCa] = await Promise.all([
    makeCa(dir, 'ca', 'kubernetes', 'rsa'),
    makeCa(dir, 'front-proxy-ca', 'front-proxy-ca', 'ec'),
    makeCa(dir, 'etcd/ca', 'etcd-ca', 'ec'),
  ]);
  const ips = ['IP:127.0.0.1', ...addresses.map((a) => `IP:${a}`)];
  const apiserverSans = [
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:localhost',
    ...ips,
  ];
  const [apiserver, apiserverKubeletClient, apiserverEtcdClient, frontProxyClient, etcdServer] =
    await Promise.all([
      makeLeaf(dir, 'apiserver', 'ca', {
        alg: 'rsa',
        cn: 'kube-apiserver',
        usage: 'serverAuth',
        sans: apiserverSans,
      }),
      // As kubeadm v1.29+ issues it (node-facts §3): CN kube-apiserver-kubelet-client, O kubeadm:cluster-admins.
      makeLeaf(dir, 'apiserver-kubelet-client', 'ca', {
        alg: 'rsa',
        cn: 'kube-apiserver-kubelet-client',
        org: 'kubeadm:cluster-admins',
        usage: 'clientAuth',
      }),
      makeLeaf(dir, 'apiserver-etcd-client', 'etcd/ca', {
        alg: 'ec',
        cn: 'kube-apiserver-etcd-client',
        usage: 'clientAuth',
      }),
      makeLeaf(dir, 'front-proxy-client', 'front-proxy-ca', {
        alg: 'ec',
        cn: 'front-proxy-client',
        usage: 'clientAuth',
      }),
      makeLeaf(dir, 'etcd/server', 'etcd/ca', {
        alg: 'ec',
        cn: 'etcd-server',
        usage: 'serverAuth,clientAuth',
        sans: ['DNS:localhost', ...ips],
      }),
    ]);
  // kubeadm's sa.key is RSA too, but nothing in the lab checks it.
  const saKeyPath = join(dir, 'sa.key');
  await runOk('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    saKeyPath,
  ]);
  await runOk('openssl', ['pkey', '-in', saKeyPath, '-pubout', '-out', join(dir, 'sa.pub')]);
  const nodes: Record<string, CertPair> = {};
  for (const name of kubesprayNodes) {
    // Kubespray's node cert, which its old manifests reuse as the kubelet client cert.
    nodes[name] = await makeLeaf(dir, `node-${name}`, 'ca', {
      alg: 'ec',
      cn: `system:node:${name}`,
      org: 'system:nodes',
      usage: 'serverAuth,clientAuth',
      sans: ['DNS:localhost', ...ips],
    });
  }
  return {
    dir,
    ca,
    apiserver,
    apiserverKubeletClient,
    apiserverEtcdClient,
    frontProxyCa,
    frontProxyClient,
    etcdCa,
    etcdServer,
    sa: { key: await readFile(saKeyPath, 'utf8'), pub: await readFile(join(dir, 'sa.pub'), 'utf8') },
    nodes,
  };
}
