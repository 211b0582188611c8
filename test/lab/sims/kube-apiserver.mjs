// kube-apiserver simulator for the kubemend lab: it checks what CIS 1.2.5 is about (the kubelet
// client certificate and key, node-facts §3) and answers the health endpoints. See README.md.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { parseFlags } from './flags.mjs';
import { goFileError } from './go-values.mjs';
import { exitWithError, makeLogger, setProcessName } from './klog.mjs';
import { writeSelfSigned } from './serving-cert.mjs';
import { SIM_VERSION } from './version.mjs';
import { clusterApi } from './cluster-api.mjs';

setProcessName('kube-apiserver');
const log = makeLogger('server.go');

const STARTUP_DELAY_MS = 500;
const FLAGS = {
  booleans: new Set(
    `allow-privileged anonymous-auth enable-bootstrap-token-auth enable-aggregator-routing enable-garbage-collector
    enable-logs-handler enable-priority-and-fairness profiling contention-profiling watch-cache service-account-lookup
    service-account-extend-token-expiration permit-port-sharing permit-address-sharing audit-log-compress
    disable-http2-serving logtostderr alsologtostderr help version`.split(/\s+/),
  ),
  values: new Set([
    'bind-address',
    'secure-port',
    'tls-cert-file',
    'tls-private-key-file',
    'kubelet-client-certificate',
    'kubelet-client-key',
    'kubelet-certificate-authority',
    'client-ca-file',
    'token-auth-file',
  ]),
};
const HEALTH_PATHS = ['/livez', '/readyz', '/healthz'];

function parseCommandLine() {
  const { flags, positional } = parseFlags(process.argv.slice(2), FLAGS);
  const args = positional.filter((arg) => arg !== '');
  if (args.length > 0) {
    throw new Error(`"kube-apiserver" does not take any arguments, got ${JSON.stringify(args)}`);
  }
  return flags;
}

/**
 * The kubelet client transport reads both files when it is built; a missing one stops the
 * server. Contents are not checked: a mismatched pair still starts (file reload skips the
 * key-pair check), and so does a single flag (UNVERIFIED upstream).
 */
function checkKubeletClientFiles(flags) {
  for (const name of ['kubelet-client-certificate', 'kubelet-client-key']) {
    const file = flags.get(name);
    if (!file) continue;
    try {
      fs.readFileSync(file);
    } catch (err) {
      throw new Error(`failed to create kubelet client: ${goFileError(file, err)}`);
    }
  }
}

/** --tls-cert-file/--tls-private-key-file when both exist, else a throwaway self-signed pair. */
function servingCert(flags) {
  const certFile = flags.get('tls-cert-file');
  const keyFile = flags.get('tls-private-key-file');
  if (certFile && keyFile && fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-apiserver-sim-'));
  try {
    const files = writeSelfSigned(dir, 'apiserver', os.hostname().toLowerCase());
    return { cert: fs.readFileSync(files.certFile), key: fs.readFileSync(files.keyFile) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function handle(req, res, api) {
  const { pathname } = new URL(req.url, 'https://x');
  if (api && pathname.startsWith('/api/')) return api(req, res, pathname);
  if (HEALTH_PATHS.some((p) => pathname === p || pathname.startsWith(`${p}/`))) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    return res.end('ok');
  }
  if (pathname === '/version') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ major: '1', minor: '30', gitVersion: SIM_VERSION }));
  }
  // What an anonymous caller gets from a real API server for anything else.
  res.writeHead(403, { 'Content-Type': 'application/json' });
  return res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `forbidden: User "system:anonymous" cannot get path "${pathname}"`,
      reason: 'Forbidden',
      details: {},
      code: 403,
    }),
  );
}

async function main() {
  const flags = parseCommandLine();
  if (flags.has('version') && flags.get('version') !== 'false') {
    process.stdout.write(`Kubernetes ${SIM_VERSION}\n`);
    return;
  }
  log.info('Version', { version: SIM_VERSION });
  checkKubeletClientFiles(flags);
  // The nodes API and the node proxy (cluster-api.mjs) once the lab gives a node list (in a
  // control plane it may write it after this API server started: looked for on each API request).
  let api = clusterApi(flags, process.env);
  const apiNow = () => (api ??= clusterApi(flags, process.env));
  // A real kube-apiserver with --client-ca-file asks every caller for a client certificate.
  const askCert = api !== undefined || Boolean(flags.get('client-ca-file'));
  const server = https.createServer(
    { ...servingCert(flags), ...(askCert ? { requestCert: true, rejectUnauthorized: false } : {}) },
    (req, res) => handle(req, res, req.url?.startsWith('/api/') ? apiNow() : api),
  );
  await new Promise((resolve) => setTimeout(resolve, STARTUP_DELAY_MS));
  const host = flags.get('bind-address') || '0.0.0.0';
  const port = Number(flags.get('secure-port') || 6443);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  log.info('Serving securely', { address: `${host}:${port}` });
  const shutdown = () => {
    server.close();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err) => {
  // cobra prints "Error: …" before the klog line.
  process.stderr.write(`Error: ${err.message}\n`);
  exitWithError(log, err);
});
