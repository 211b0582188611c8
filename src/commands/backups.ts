import { existsSync } from 'node:fs';
import { ExitCode, UsageError } from '../errors.js';
import type { NodeTarget } from '../inventory/types.js';
import { isRunId, listBackupMetadata, type BackupEntry } from '../node/changes.js';
import { withSession, type NodeSession } from '../node/ssh/index.js';
import { renderBackups } from '../report/backups-render.js';
import type { Io } from './io.js';
import type { CommonOptions } from './options.js';
import { commandLine } from './rerun.js';
import { commandSource } from './targets.js';

export interface BackupInfo {
  id: string;
  createdAt: string;
  tool?: string;
  files: BackupEntry[];
}

/** Reads every backup's metadata.json on the node, oldest first. */
export async function readBackups(session: NodeSession): Promise<BackupInfo[]> {
  const list = (await listBackupMetadata(session)).filter(isBackupInfo);
  return list.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

/** A metadata.json kubemend wrote (a file there that is not one is not a backup to restore from). */
function isBackupInfo(v: unknown): v is BackupInfo {
  const b = v as Partial<BackupInfo> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.id === 'string' &&
    isRunId(b.id) &&
    typeof b.createdAt === 'string' &&
    Array.isArray(b.files) &&
    b.files.every(
      (f) =>
        typeof f === 'object' &&
        f !== null &&
        typeof f.path === 'string' &&
        f.path.startsWith('/') &&
        (f.action === 'modified' || f.action === 'created'),
    )
  );
}

/** The node named by --node, from the inventory file and/or the cluster's API (--kubeconfig, --context). */
export async function nodeTarget(opts: CommonOptions, io: Io, name: string): Promise<NodeTarget> {
  const { nodes, cluster, warnings } = await commandSource(opts, io, false);
  const target = nodes.find((n) => n.name === name);
  if (!target)
    throw new UsageError(
      `node ${name} is not in ${cluster ? `cluster ${cluster.name}${usedFile(opts) ? ` or ${opts.inventory}` : ''}` : opts.inventory}`,
      [`known nodes: ${nodes.map((n) => n.name).join(', ')}`, ...warnings],
    );
  return target;
}

/** With the cluster as the source, the default ./inventory.yaml is merged only when it is there. */
const usedFile = (opts: CommonOptions): boolean => !opts.inventoryIsDefault || existsSync(opts.inventory);

export const sessionOptions = (opts: CommonOptions, io: Io) => ({
  connectTimeoutSec: opts.connectTimeout,
  acceptNewHostKeys: opts.acceptNewHostKeys,
  env: io.env,
});

export async function runBackups(opts: CommonOptions & { node: string }, io: Io): Promise<ExitCode> {
  const target = await nodeTarget(opts, io, opts.node);
  const backups = await withSession(target, sessionOptions(opts, io), readBackups);
  if (opts.output === 'json') {
    const json = {
      node: target.name,
      backups: backups.map((b) => ({
        id: b.id,
        createdAt: b.createdAt,
        files: b.files.map((f) => ({ path: f.path, sha256: f.sha256, action: f.action })),
      })),
    };
    io.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return ExitCode.ok;
  }
  io.stdout.write(
    renderBackups(
      target.name,
      backups,
      commandLine(opts)('rollback', '--node', target.name, '--backup', 'ID'),
    ),
  );
  return ExitCode.ok;
}
