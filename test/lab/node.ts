import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cgroupPids, removeCgroup } from './cgroups.js';
import { runOk } from './exec.js';
import { keyTypeAndBlob, makeSshKey } from './keys.js';
import type { LayoutContext, NodeSpec } from './layouts.js';
import { isMounted, removeTree, unmount } from './mounts.js';
import { isAlive, netnsPids, procRef, signal, waitFor } from './procs.js';
import type { NodeState, ProcRef } from './state.js';
import { installSims } from './sims/install.mjs';
import { UpperWriter } from './upper.js';

export const nodePaths = (nodeDir: string) => ({
  upper: join(nodeDir, 'upper'),
  work: join(nodeDir, 'work'),
  merged: join(nodeDir, 'merged'),
  log: join(nodeDir, 'console.log'),
});

function userIds(rootfs: string, user: string): { uid: number; gid: number; home: string } {
  const line = readFileSync(join(rootfs, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  const [, , uid, gid, , home] = line?.split(':') ?? [];
  if (!uid || !gid || !home) throw new Error(`user ${user} missing from the rootfs`);
  return { uid: Number(uid), gid: Number(gid), home };
}

/**
 * Fills the node's upper layer: identity (host key made on the host, machine-id, hostname), lab
 * key logins, the layout's files and the simulators. Returns the node's public host key line.
 */
export async function prepareNode(opts: {
  rootfs: string;
  nodeDir: string;
  spec: NodeSpec;
  ctx: LayoutContext;
  labPublicKey: string;
}): Promise<string> {
  const { rootfs, nodeDir, spec, ctx } = opts;
  const p = nodePaths(nodeDir);
  // A leftover upper layer from an earlier lab of the same name would leak its writes into this one.
  await removeTree(nodeDir); // mount-aware: never recurses into a live overlay
  for (const d of [p.upper, p.work, p.merged]) await mkdir(d, { recursive: true });
  const w = new UpperWriter(rootfs, p.upper);

  await w.mkdirp('/etc/ssh');
  const hostKey = await makeSshKey(join(p.upper, 'etc/ssh/ssh_host_ed25519_key'), `root@${spec.name}`);
  await w.write('/etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444);
  await w.write('/etc/hostname', `${spec.name}\n`);
  // debootstrap leaves no /etc/hosts; without the own name sudo warns "unable to resolve host".
  await w.write(
    '/etc/hosts',
    `127.0.0.1\tlocalhost\n127.0.1.1\t${spec.name}\n${ctx.address}\t${spec.name}\n`,
  );

  for (const user of ['root', 'admin', 'nopw']) {
    const { uid, gid, home } = userIds(rootfs, user);
    await w.mkdirp(`${home}/.ssh`, 0o700, uid, gid);
    await w.write(`${home}/.ssh/authorized_keys`, `${opts.labPublicKey}\n`, 0o600, uid, gid);
  }

  for (const f of await spec.layout.files(ctx)) {
    if ('symlink' in f) await w.symlink(f.path, f.symlink);
    else if ('dir' in f) await w.mkdirp(f.path, f.mode ?? 0o755);
    else await w.write(f.path, f.content, f.mode ?? 0o644);
  }
  // The kubelet launchers go where the layout's unit runs the kubelet (plus kube-apiserver).
  if (spec.layout.kubeletPaths.length > 0) installSims(p.upper, { kubeletPaths: spec.layout.kubeletPaths });
  return keyTypeAndBlob(hostKey);
}

export async function mountOverlay(rootfs: string, nodeDir: string): Promise<void> {
  const p = nodePaths(nodeDir);
  if (isMounted(p.merged)) return;
  await runOk('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${rootfs},upperdir=${p.upper},workdir=${p.work}`,
    p.merged,
  ]);
}

/**
 * Boots the node's systemd in a detached systemd-nspawn (new session, stdio to the node's console
 * log) so it outlives the process that ran `up`. Flags per lab-notes.md; besides those:
 * --resolv-conf/--timezone=off keep nspawn from copying host files into the node (its upper layer
 * then holds only what the lab and the node wrote), --link-journal=no writes nothing on the host.
 */
export function startContainer(opts: {
  merged: string;
  machine: string;
  netns: string;
  logPath: string;
  cgroupProcs: string[];
}): ProcRef {
  const log = openSync(opts.logPath, 'a');
  try {
    // prettier-ignore
    const nspawn = [
      'systemd-nspawn',
      '-D', opts.merged,
      '--register=no',
      '--keep-unit',
      '-b',
      '-M', opts.machine,
      `--network-namespace-path=/run/netns/${opts.netns}`,
      '--resolv-conf=off',
      '--timezone=off',
      '--link-journal=no',
    ];
    // The shell joins the node's own cgroups (see cgroups.ts), then becomes systemd-nspawn: no
    // window in which nspawn or its children run in a shared cgroup.
    const join = 'for f in $KUBEMEND_CGROUP_PROCS; do echo $$ > "$f" || exit 1; done; exec "$@"';
    const child = spawn('/bin/sh', ['-c', join, 'kubemend-lab', ...nspawn], {
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '0',
        KUBEMEND_CGROUP_PROCS: opts.cgroupProcs.join(' '),
      },
    });
    if (child.pid === undefined) throw new Error('systemd-nspawn did not start');
    child.unref();
    return procRef(child.pid);
  } finally {
    closeSync(log);
  }
}

/**
 * Stops a node and releases its mount and cgroup. Order: SIGTERM to nspawn (it asks the node's
 * systemd to power off), then SIGKILL to whatever still runs in the node's cgroup or netns (the
 * container's PID 1 — killing it ends its whole PID namespace) and to nspawn, then unmount.
 * Every PID signalled is the recorded nspawn (checked by start time) or a process inside this
 * node's own cgroup or netns: nothing is looked up by name.
 */
export async function stopNode(node: NodeState, graceMs = 10_000): Promise<void> {
  if (node.nspawn && isAlive(node.nspawn)) {
    signal(node.nspawn.pid, 'SIGTERM');
    await waitFor(() => !isAlive(node.nspawn as ProcRef), graceMs);
  }
  const leftovers = async () => [
    ...new Set([
      ...(node.cgroup ? cgroupPids(node.cgroup) : []),
      ...(node.netns ? await netnsPids(node.netns) : []),
      ...(node.nspawn && isAlive(node.nspawn) ? [node.nspawn.pid] : []),
    ]),
  ];
  for (let round = 0; round < 3; round++) {
    const pids = await leftovers();
    if (pids.length === 0) break;
    for (const pid of pids) signal(pid, 'SIGKILL');
    await waitFor(async () => (await leftovers()).length === 0, 5000);
  }
  const left = await leftovers();
  if (left.length > 0)
    throw new Error(`node ${node.name}: processes still running after SIGKILL: ${left.join(' ')}`);
  if (node.mergedDir) await unmount(node.mergedDir);
  if (node.cgroup) removeCgroup(node.cgroup);
}

// systemd colours its console output; the log is read as plain text.
const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The tail of a node's console log, for error messages. */
export async function consoleTail(logPath: string | undefined, lines = 30): Promise<string> {
  if (!logPath) return '';
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.replace(ANSI_COLOR, '').split('\n').slice(-lines).join('\n');
}
