// Kubelet simulator for the kubemend lab; see README.md for what it implements and leaves out.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { parseFlags } from './flags.mjs';
import { goFileError, parseGoDuration } from './go-values.mjs';
import { exitWithError, makeLogger, setProcessName } from './klog.mjs';
import { buildAuth } from './kubelet-auth.mjs';
import { KUBELET_FLAGS } from './kubelet-config-schema.mjs';
import { loadKubeletConfig } from './kubelet-config.mjs';
import { startHealthz, startKubeletApi } from './kubelet-server.mjs';
import { PodRunner } from './pod-runner.mjs';
import { writeSelfSigned } from './serving-cert.mjs';
import { watchStaticPods } from './static-pod-source.mjs';
import { SIM_VERSION } from './version.mjs';

setProcessName('kubelet');
const log = makeLogger('kubelet.go');

function parseCommandLine() {
  try {
    const { flags, positional } = parseFlags(process.argv.slice(2), KUBELET_FLAGS);
    if (positional.length > 0) throw new Error(`unknown command ${positional[0]}`);
    return flags;
  } catch (err) {
    throw new Error(`failed to parse kubelet flag: ${err.message}`);
  }
}

/** tlsCertFile/tlsPrivateKeyFile, or a self-signed pair made once in --cert-dir (default <root-dir>/pki). */
function servingCertFiles(config, flags, nodeName) {
  if (config.tlsCertFile || config.tlsPrivateKeyFile) {
    return { certFile: config.tlsCertFile, keyFile: config.tlsPrivateKeyFile };
  }
  const certDir = flags.get('cert-dir') || path.join(flags.get('root-dir') || '/var/lib/kubelet', 'pki');
  const certFile = path.join(certDir, 'kubelet.crt');
  const keyFile = path.join(certDir, 'kubelet.key');
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    writeSelfSigned(certDir, 'kubelet', nodeName);
    log.info('Generated self-signed serving certificate', { path: certFile });
  }
  return { certFile, keyFile };
}

function podList(desired, runner) {
  const items = [...desired.values()].map((entry) => ({
    ...entry.pod,
    metadata: {
      ...entry.pod.metadata,
      name: entry.name,
      namespace: entry.namespace,
      uid: entry.hash,
      annotations: {
        ...entry.pod.metadata.annotations,
        'kubernetes.io/config.hash': entry.hash,
        'kubernetes.io/config.source': 'file',
      },
    },
    status: { phase: runner.phase(entry.key) },
  }));
  return { kind: 'PodList', apiVersion: 'v1', metadata: {}, items };
}

async function main() {
  const flags = parseCommandLine();
  if (flags.has('version') && flags.get('version') !== 'false') {
    process.stdout.write(`Kubernetes ${SIM_VERSION}\n`);
    return;
  }
  const config = loadKubeletConfig(flags, log);
  const nodeName = (process.env.KUBELET_SIM_NODE_NAME || flags.get('hostname-override') || os.hostname())
    .trim()
    .toLowerCase();
  log.info('Kubelet version', { kubeletVersion: SIM_VERSION, node: nodeName });

  let auth;
  let serving;
  try {
    serving = servingCertFiles(config, flags, nodeName);
    auth = buildAuth(config);
  } catch (err) {
    throw new Error(`failed to run Kubelet: ${err.message}`);
  }
  if (auth.caPem) log.info('Starting controller', { name: `client-ca-bundle::${auth.caFile}` });

  const useSystemd =
    (process.env.KUBELET_SIM_RUNNER || (fs.existsSync('/run/systemd/system') ? 'systemd' : 'process')) ===
    'systemd';
  const runner = new PodRunner({
    stateDir: process.env.KUBELET_SIM_STATE_DIR || '/run/kubelet-sim/pods',
    useSystemd,
    log,
  });
  let desired = new Map();

  const closeHealthz = startHealthz(config, log);
  let closeApi;
  try {
    closeApi = await startKubeletApi({
      config,
      auth,
      cert: fs.readFileSync(serving.certFile),
      key: fs.readFileSync(serving.keyFile),
      routes: {
        '/healthz': () => 'ok',
        '/configz': () => ({ kubeletconfig: config }),
        '/pods': () => podList(desired, runner),
      },
      log,
    });
  } catch (err) {
    log.error('Failed to listen and serve', { err: err.path ? goFileError(err.path, err) : err });
    process.exit(1);
  }
  log.info('Started kubelet');

  const onChange = (pods) => {
    desired = pods;
    runner.sync(pods);
  };
  let stopWatching = () => {};
  if (config.staticPodPath) {
    stopWatching = watchStaticPods({
      staticPath: config.staticPodPath,
      checkEveryMs: Math.max(parseGoDuration(config.fileCheckFrequency), 100),
      nodeName,
      log,
      onChange,
    });
  } else {
    onChange(new Map()); // pods recorded by an earlier kubelet are orphans now
  }
  const ticker = setInterval(() => runner.tick(), 1000);

  // Pods are left running, as containers outlive a kubelet restart.
  const shutdown = () => {
    log.info('Shutting down; static pods keep running');
    clearInterval(ticker);
    stopWatching();
    closeHealthz();
    closeApi();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err) => exitWithError(log, err));
