import { existsSync } from 'node:fs';
import { run, runOk } from './exec.js';

/**
 * One bridge per lab with the host at .1; one netns per node joined to it by a veth pair. Nodes
 * get no default route: they reach each other (ProxyJump tests) and the host, nothing else.
 */
export const bridgeName = (index: number): string => `kmlab${index}`;
export const subnetPrefix = (index: number): string => `10.213.${index}`;
export const hostAddress = (index: number): string => `${subnetPrefix(index)}.1`;
export const netnsName = (lab: string, node: string): string => `kubemend-${lab}-${node}`;
// Interface names are limited to 15 characters: km<lab index>n<node number>.
export const vethName = (index: number, nodeNumber: number): string => `km${index}n${nodeNumber}`;

export async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

/** True when the host already routes that /24 somewhere (another lab or a real network). */
export async function subnetInUse(index: number): Promise<boolean> {
  const { stdout } = await runOk('ip', ['-4', 'route', 'show']);
  return stdout.includes(`${subnetPrefix(index)}.`);
}

export async function createBridge(index: number): Promise<void> {
  const br = bridgeName(index);
  await runOk('ip', ['link', 'add', br, 'type', 'bridge']);
  await runOk('ip', ['addr', 'add', `${hostAddress(index)}/24`, 'dev', br]);
  await runOk('ip', ['link', 'set', br, 'up']);
}

export async function createNodeNetwork(opts: {
  index: number;
  netns: string;
  veth: string;
  address: string;
}): Promise<void> {
  await runOk('ip', ['netns', 'add', opts.netns]);
  // The peer is created directly inside the netns under the name systemd-nspawn uses (host0).
  await runOk('ip', ['link', 'add', opts.veth, 'type', 'veth', 'peer', 'name', 'host0', 'netns', opts.netns]);
  await runOk('ip', ['link', 'set', opts.veth, 'master', bridgeName(opts.index), 'up']);
  await runOk('ip', ['-n', opts.netns, 'addr', 'add', `${opts.address}/24`, 'dev', 'host0']);
  await runOk('ip', ['-n', opts.netns, 'link', 'set', 'host0', 'up']);
  await runOk('ip', ['-n', opts.netns, 'link', 'set', 'lo', 'up']);
}

/** Deletes a link; one that is already gone (or vanishing) is not an error: teardown is idempotent. */
async function deleteLink(name: string): Promise<void> {
  const r = await run('ip', ['link', 'del', name]);
  // "No such device": the kernel removed it between linkExists and del (netns teardown is async).
  if (r.code !== 0 && !/Cannot find device|No such device/.test(r.stderr))
    throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
}

/** Deleting the netns also destroys the veth pair (asynchronously); the host end is removed if left. */
export async function deleteNodeNetwork(netns: string | undefined, veth: string | undefined): Promise<void> {
  if (netns && existsSync(`/run/netns/${netns}`)) await runOk('ip', ['netns', 'del', netns]);
  if (veth && (await linkExists(veth))) await deleteLink(veth);
}

export async function deleteBridge(name: string | undefined): Promise<void> {
  if (name && (await linkExists(name))) await deleteLink(name);
}
