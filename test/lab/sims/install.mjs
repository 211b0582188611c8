// Puts the simulators into a lab node's root directory (an overlay upper dir, before boot):
// the sim files and the `yaml` package under /usr/local/lib/kubemend-lab/, and bash launchers at
// the kubelet paths and /usr/local/bin/kube-apiserver. A launcher execs node with argv[0] set to
// its own path, so /proc/PID/cmdline reads "<launcher>\0<sim .mjs>\0<flags…>".
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAB_LIB_DIR = '/usr/local/lib/kubemend-lab';
export const APISERVER_PATH = '/usr/local/bin/kube-apiserver';
const NODE_BIN = '/usr/bin/node';
const SIMS_DIR = path.dirname(fileURLToPath(import.meta.url));

function launcher(ownPath, sim) {
  return [
    '#!/bin/bash',
    `# kubemend lab: ${sim} simulator, see ${LAB_LIB_DIR}/README.md`,
    `exec -a ${ownPath} ${NODE_BIN} ${LAB_LIB_DIR}/${sim} "$@"`,
    '',
  ].join('\n');
}

/**
 * @param {string} rootDir the node's root directory on the host
 * @param {{ kubeletPaths?: string[] }} [options] where the kubelet launchers go (in-node paths)
 * @returns {string[]} the in-node paths written (files and launchers)
 */
export function installSims(rootDir, { kubeletPaths = ['/usr/bin/kubelet', '/usr/local/bin/kubelet'] } = {}) {
  const written = [];
  const put = (nodePath, content, mode) => {
    const hostPath = path.join(rootDir, nodePath);
    fs.mkdirSync(path.dirname(hostPath), { recursive: true });
    fs.writeFileSync(hostPath, content, { mode });
    fs.chmodSync(hostPath, mode); // writeFileSync's mode does not apply to an existing file
    written.push(nodePath);
  };

  for (const name of fs.readdirSync(SIMS_DIR).sort()) {
    const file = path.join(SIMS_DIR, name);
    if (fs.statSync(file).isFile() && !/\.test\./.test(name)) {
      put(path.join(LAB_LIB_DIR, name), fs.readFileSync(file), 0o644);
    }
  }

  const yamlDir = path.dirname(createRequire(import.meta.url).resolve('yaml/package.json'));
  const yamlTarget = path.join(LAB_LIB_DIR, 'node_modules', 'yaml');
  fs.cpSync(yamlDir, path.join(rootDir, yamlTarget), { recursive: true });
  written.push(yamlTarget);

  for (const kubeletPath of kubeletPaths) put(kubeletPath, launcher(kubeletPath, 'kubelet.mjs'), 0o755);
  put(APISERVER_PATH, launcher(APISERVER_PATH, 'kube-apiserver.mjs'), 0o755);
  return written;
}
