import { join } from 'node:path';
import type { RunResult } from './exec.js';
import { nodeSpec } from './layouts.js';
import type { ExpectedResults, NodeSpec, Role, Variant } from './layouts.js';
import { hostAddress, subnetPrefix } from './network.js';
import { labDir } from './paths.js';
import { sshRun } from './ssh.js';
import type { SshOptions } from './ssh.js';
import type { LabState } from './state.js';

export interface LabNode {
  name: string;
  host: string;
  /** Layout id (node name without -ok/-bad), e.g. `eks-al2023-dropin`. */
  layout: string;
  /** Distribution family (also an inventory group), e.g. `eks-al2023`. */
  family: string;
  variant: Variant | null;
  role: Role;
  /** The overlay upper layer on the host: exactly what was written into the node. */
  upperDir: string;
  /** What kubemend should report for each control on this node as booted. */
  expected: ExpectedResults;
}

/** Plain data (structured-cloneable), so vitest can hand it from globalSetup to the test files. */
export interface LabInfo {
  name: string;
  index: number;
  dir: string;
  /** The host's address on the lab bridge (nodes can reach it, and nothing else outside the lab). */
  hostAddress: string;
  keyPath: string;
  knownHostsPath: string;
  inventoryPath: string;
  pkiDir: string;
  nodes: LabNode[];
}

export interface Lab extends LabInfo {
  node(name: string): LabNode;
  /** Runs a command on a node over SSH (lab key, lab known_hosts, strict host key checking). */
  ssh(node: string, command: string, opts?: SshOptions): Promise<RunResult>;
}

export const nodeAddress = (index: number, spec: NodeSpec): string =>
  `${subnetPrefix(index)}.${spec.number + 2}`;

export function labInfoFromState(state: LabState): LabInfo {
  const dir = labDir(state.name);
  const nodes = Object.keys(state.nodes)
    .map(nodeSpec)
    .sort((a, b) => a.number - b.number)
    .map((spec): LabNode => ({
      name: spec.name,
      host: nodeAddress(state.index, spec),
      layout: spec.layout.id,
      family: spec.layout.family,
      variant: spec.variant,
      role: spec.layout.role,
      upperDir: join(dir, spec.name, 'upper'),
      expected: spec.layout.expected(spec.variant),
    }));
  return {
    name: state.name,
    index: state.index,
    dir,
    hostAddress: hostAddress(state.index),
    keyPath: join(dir, 'id_ed25519'),
    knownHostsPath: join(dir, 'known_hosts'),
    inventoryPath: join(dir, 'inventory.yaml'),
    pkiDir: join(dir, 'pki'),
    nodes,
  };
}

/** Adds the test helpers to plain lab data (e.g. what a vitest `inject('lab')` returns). */
export function attachLab(info: LabInfo): Lab {
  const node = (name: string): LabNode => {
    const found = info.nodes.find((n) => n.name === name);
    if (!found) {
      nodeSpec(name); // throws with the list of known names if it is not a lab node at all
      throw new Error(`node ${name} is not part of lab ${info.name}`);
    }
    return found;
  };
  return {
    ...info,
    node,
    ssh: (name, command, opts) =>
      sshRun(
        { host: node(name).host, keyPath: info.keyPath, knownHostsPath: info.knownHostsPath },
        command,
        opts,
      ),
  };
}

/** The plain-data part of a Lab (drops the helper functions), e.g. for vitest's provide(). */
export function labInfo(lab: LabInfo): LabInfo {
  const { name, index, dir, hostAddress: host, keyPath, knownHostsPath, inventoryPath, pkiDir, nodes } = lab;
  return {
    name,
    index,
    dir,
    hostAddress: host,
    keyPath,
    knownHostsPath,
    inventoryPath,
    pkiDir,
    nodes: nodes.map((n) => ({ ...n, expected: { ...n.expected } })),
  };
}
