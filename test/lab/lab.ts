import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCgroup, labCgroup, nodeCgroup, removeEmptyCgroup } from './cgroups.js';
import { reserveIndex, releaseIndexes } from './index-lock.js';
import { writeInventoryFiles } from './inventory.js';
import { makeSshKey } from './keys.js';
import { attachLab, labInfoFromState, nodeAddress } from './lab-info.js';
import type { Lab, LabInfo } from './lab-info.js';
import { ALL_NODES, nodeSpec } from './layouts.js';
import type { NodeSpec } from './layouts.js';
import { removeTree } from './mounts.js';
import {
  bridgeName,
  createBridge,
  createNodeNetwork,
  deleteBridge,
  deleteNodeNetwork,
  hostAddress,
  netnsName,
  vethName,
} from './network.js';
import { consoleTail, mountOverlay, nodePaths, prepareNode, startContainer, stopNode } from './node.js';
import { labDir, labStateDir, FIXTURES_DIR } from './paths.js';
import { createLabPki } from './pki.js';
import type { LabPki } from './pki.js';
import { assertLabCanRun } from './preflight.js';
import { isAlive, procRef } from './procs.js';
import { NodeNotReadyError, waitNodeReady } from './ready.js';
import { ensureRootfs } from './rootfs.js';
import { sshBanner } from './ssh.js';
import { listLabs, readState, writeState } from './state.js';
import type { LabState, NodeState } from './state.js';

export type { Lab, LabInfo, LabNode } from './lab-info.js';
export { attachLab, labInfo } from './lab-info.js';

export type Log = (line: string) => void;

export interface UpOptions {
  /** Lab name (default `default`): labs with different names coexist on separate subnets. */
  name?: string;
  /** Node names (see ALL_NODES); default every layout. */
  nodes?: string[];
  /** Tear down an existing lab of that name first instead of failing. */
  replace?: boolean;
  /** Leave whatever was created when `up` fails (for debugging); default: tear it down. */
  keepOnFailure?: boolean;
  signal?: AbortSignal;
  log?: Log;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,19}$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new Error(`invalid lab name "${name}": use 1-20 characters a-z, 0-9, -`);
}

async function allOrFirstError<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Creates the node's network, upper layer and overlay, then boots it; returns its host key. */
async function startNode(
  state: LabState,
  spec: NodeSpec,
  ctx: { labPublicKey: string; pki: LabPki },
): Promise<string> {
  const address = nodeAddress(state.index, spec);
  const nodeDir = join(state.dir, spec.name);
  const paths = nodePaths(nodeDir);
  // Record every resource before creating it: `down` tolerates ones that never came to exist.
  const node: NodeState = {
    name: spec.name,
    address,
    netns: netnsName(state.name, spec.name),
    veth: vethName(state.index, spec.number),
    nodeDir,
    mergedDir: paths.merged,
    machine: `kml${state.index}-${spec.name}`,
    cgroup: nodeCgroup(state.name, spec.name),
    logPath: paths.log,
  };
  state.nodes[spec.name] = node;
  writeState(state);
  await createNodeNetwork({
    index: state.index,
    netns: node.netns as string,
    veth: node.veth as string,
    address,
  });
  const hostKey = await prepareNode({
    rootfs: state.rootfs,
    nodeDir,
    spec,
    labPublicKey: ctx.labPublicKey,
    ctx: {
      node: spec.name,
      variant: spec.variant,
      address,
      hostAddress: hostAddress(state.index),
      pki: ctx.pki,
      fixture: (rel) => readFile(join(FIXTURES_DIR, rel), 'utf8'),
    },
  });
  await mountOverlay(state.rootfs, nodeDir);
  const cgroupProcs = createCgroup(node.cgroup as string);
  node.nspawn = startContainer({
    merged: paths.merged,
    machine: node.machine as string,
    netns: node.netns as string,
    logPath: paths.log,
    cgroupProcs,
  });
  writeState(state);
  return hostKey;
}

/**
 * Boots a lab: one container per node, in parallel, from the cached rootfs. Returns when every
 * node answers SSH, finished booting and (where its layout runs them) has a healthy kubelet and
 * kube-apiserver.
 */
export async function upLab(opts: UpOptions = {}): Promise<Lab> {
  const log = opts.log ?? (() => {});
  const name = opts.name ?? 'default';
  checkName(name);
  assertLabCanRun('up');
  raiseInotifyLimits(log);
  const specs = opts.nodes ? [...new Set(opts.nodes)].map(nodeSpec) : [...ALL_NODES];
  if (specs.length === 0) throw new Error('no nodes selected');
  if (!existsSync(FIXTURES_DIR))
    throw new Error(`fixtures not found at ${FIXTURES_DIR} (set KUBEMEND_FIXTURES)`);
  const existing = readState(name);
  if (existing) {
    if (!opts.replace)
      throw new Error(`lab "${name}" is already up: run \`npm run lab -- down --name ${name}\` first`);
    // Replace the leftovers of an interrupted run, never a lab that a live process (a test run) uses.
    const owner = existing.owner;
    if (owner && owner.pid !== process.pid && isAlive(owner)) {
      throw new Error(
        `lab "${name}" is in use by PID ${owner.pid} (another test run?): wait for it or stop it`,
      );
    }
    log(`tearing down the existing lab "${name}"`);
    await downLab(name, { log });
  }

  const rootfs = await ensureRootfs(log);
  opts.signal?.throwIfAborted();
  const started = Date.now();
  const index = await reserveIndex(name);
  const state: LabState = {
    version: 1,
    name,
    index,
    dir: labDir(name),
    rootfs,
    createdAt: new Date().toISOString(),
    upInProgress: procRef(process.pid),
    owner: procRef(process.pid),
    nodes: {},
  };
  writeState(state);
  try {
    await removeTree(state.dir); // a lab dir left without state (crash before state existed)
    await mkdir(state.dir, { recursive: true, mode: 0o700 });
    await chmod(state.dir, 0o700);
    const info = labInfoFromState(state); // for its paths; nodes are added below
    const labPublicKey = await makeSshKey(info.keyPath, `kubemend-lab-${name}`);
    log(`lab ${name}: subnet 10.213.${index}.0/24 on bridge ${bridgeName(index)}, ${specs.length} nodes`);
    const pki = await createLabPki(
      state.dir,
      specs.map((s) => nodeAddress(index, s)),
      specs.filter((s) => s.layout.id === 'kubespray-cp').map((s) => s.name),
    );
    state.bridge = bridgeName(index);
    writeState(state);
    await createBridge(index);
    opts.signal?.throwIfAborted();

    // allSettled: when one node fails, the others must finish recording what they created
    // before the teardown in `catch` reads the state.
    const hostKeys = await allOrFirstError(specs.map((s) => startNode(state, s, { labPublicKey, pki })));
    log(`${specs.length} nodes booting (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    await writeInventoryFiles({
      inventoryPath: info.inventoryPath,
      knownHostsPath: info.knownHostsPath,
      keyPath: info.keyPath,
      nodes: specs.map((s, i) => ({
        name: s.name,
        host: nodeAddress(index, s),
        groups: ['lab', s.layout.family, ...(s.variant ? [s.variant] : [])],
        hostKey: hostKeys[i] as string,
      })),
    });

    const warnings = await Promise.all(
      specs.map(async (s) => {
        const target = {
          host: nodeAddress(index, s),
          keyPath: info.keyPath,
          knownHostsPath: info.knownHostsPath,
        };
        const w = await waitNodeReady(s.name, target, s.layout, {
          ...(opts.signal && { signal: opts.signal }),
        });
        log(`  ${s.name} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        return w;
      }),
    );
    for (const w of warnings.flat()) log(`warning: ${w}`);
    delete state.upInProgress;
    writeState(state);
    log(`lab ${name} up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return attachLab(labInfoFromState(state));
  } catch (err) {
    if (err instanceof NodeNotReadyError) {
      log(`console of ${err.node}:\n${await consoleTail(state.nodes[err.node]?.logPath)}`);
    }
    if (opts.keepOnFailure) {
      delete state.upInProgress;
      writeState(state);
      log(`up failed; lab "${name}" left as is for debugging (down: npm run lab -- down --name ${name})`);
    } else {
      log(`up failed; tearing down lab "${name}"`);
      await downLab(name, { log, force: true }).catch((e: unknown) =>
        log(`teardown failed too: ${String(e)}`),
      );
    }
    throw err;
  }
}

/**
 * Reboots one node of a running lab: its systemd powers off cleanly (what `systemctl reboot` does
 * up to the reset), then it boots again from the same disk (its overlay upper layer) with a fresh
 * /run, new PIDs and new units. Resolves when the node is ready again, like after `up`.
 */
export async function rebootNode(name: string, nodeName: string, opts: { log?: Log } = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  checkName(name);
  const state = readState(name);
  const node = state?.nodes[nodeName];
  if (!state || !node?.nodeDir || !node.cgroup || !node.machine || !node.netns || !node.logPath)
    throw new Error(`lab "${name}" has no running node ${nodeName}`);
  const started = Date.now();
  await stopNode(node);
  delete node.nspawn;
  writeState(state);
  await mountOverlay(state.rootfs, node.nodeDir);
  node.nspawn = startContainer({
    merged: nodePaths(node.nodeDir).merged,
    machine: node.machine,
    netns: node.netns,
    logPath: node.logPath,
    cgroupProcs: createCgroup(node.cgroup),
  });
  writeState(state);
  const info = labInfoFromState(state);
  const spec = nodeSpec(nodeName);
  try {
    await waitNodeReady(
      nodeName,
      { host: nodeAddress(state.index, spec), keyPath: info.keyPath, knownHostsPath: info.knownHostsPath },
      spec.layout,
    );
  } catch (err) {
    log(`console of ${nodeName}:\n${await consoleTail(node.logPath)}`);
    throw err;
  }
  log(`  ${nodeName} rebooted (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/**
 * Removes every container, mount, netns, veth and the bridge recorded for the lab, then its
 * files. Works from the state file alone (after a crash of `up`), and is idempotent.
 * Returns false when there was no such lab.
 */
export async function downLab(name = 'default', opts: { log?: Log; force?: boolean } = {}): Promise<boolean> {
  const log = opts.log ?? (() => {});
  checkName(name);
  assertLabCanRun('down');
  const state = readState(name);
  if (!state) {
    releaseIndexes(name);
    return false;
  }
  const up = state.upInProgress;
  if (!opts.force && up && up.pid !== process.pid && isAlive(up)) {
    throw new Error(`lab "${name}" is still being brought up by PID ${up.pid}; interrupt that first`);
  }
  await allOrFirstError(
    Object.values(state.nodes).map(async (node) => {
      await stopNode(node);
      await deleteNodeNetwork(node.netns, node.veth);
      delete state.nodes[node.name];
      writeState(state);
      log(`  ${node.name} removed`);
    }),
  );
  await deleteBridge(state.bridge);
  removeEmptyCgroup(labCgroup(name));
  removeEmptyCgroup('kubemend-lab');
  // Refuses (rather than follows) any mount still below the lab dir.
  await removeTree(state.dir);
  releaseIndexes(name);
  await removeTree(labStateDir(name));
  log(`lab ${name} is down`);
  return true;
}

export interface NodeStatus {
  name: string;
  host: string;
  layout: string;
  container: 'running' | 'stopped';
  ssh: boolean;
}

export interface LabStatus {
  name: string;
  info: LabInfo;
  upInProgress: boolean;
  nodes: NodeStatus[];
}

export async function labStatus(name = 'default'): Promise<LabStatus | undefined> {
  checkName(name);
  const state = readState(name);
  if (!state) return undefined;
  const info = labInfoFromState(state);
  const nodes = await Promise.all(
    info.nodes.map(async (n): Promise<NodeStatus> => {
      const ref = state.nodes[n.name]?.nspawn;
      const running = ref !== undefined && isAlive(ref);
      return {
        name: n.name,
        host: n.host,
        layout: n.layout,
        container: running ? 'running' : 'stopped',
        ssh: running && (await sshBanner(n.host, 1000)),
      };
    }),
  );
  return { name, info, upInProgress: state.upInProgress !== undefined && isAlive(state.upInProgress), nodes };
}

/** The lab as `upLab` returned it, for a lab that is already up (e.g. started from the CLI). */
export function openLab(name = 'default'): Lab | undefined {
  const state = readState(name);
  return state ? attachLab(labInfoFromState(state)) : undefined;
}

export { listLabs };

/**
 * Every node's systemd and kubelet take inotify instances from the host's per-user limit (default
 * 128): with a few dozen nodes, units fail with "Failed to create inotify object: Too many open
 * files". Raise the limits (never lower them) before booting.
 */
function raiseInotifyLimits(log: Log): void {
  for (const [file, want] of [
    ['/proc/sys/fs/inotify/max_user_instances', 8192],
    ['/proc/sys/fs/inotify/max_user_watches', 524288],
  ] as const) {
    const have = Number(readFileSync(file, 'utf8').trim());
    if (have < want) {
      writeFileSync(file, `${want}\n`);
      log(`raised ${file} from ${have} to ${want} (many nodes share this host's inotify limits)`);
    }
  }
}
