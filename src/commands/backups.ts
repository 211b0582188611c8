import { existsSync } from 'node:fs';
import { Ajv } from 'ajv';
import { ExitCode, NodeError, UsageError } from '../errors.js';
import type { NodeTarget } from '../inventory/types.js';
import { backupDir, listBackupMetadata, type BackupEntry, type BackupMetadataFile } from '../node/changes.js';
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

/** Reads every backup's metadata.json on the node, oldest first; a malformed one is the node's error. */
export async function readBackups(session: NodeSession): Promise<BackupInfo[]> {
  const list = (await listBackupMetadata(session)).map((m) => backupInfo(session.node, m));
  return list.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

// What backup.sh and metadata-write.sh write (node-apply.ts backupEntries): names inside the backup
// directory are kubemend's own (`<i>.orig`, `<i>.dirs`), so a record cannot point restore elsewhere.
const sha = { type: 'string', pattern: '^([0-9a-f]{64})?$' } as const;
const metadataSchema = {
  type: 'object',
  required: ['id', 'createdAt', 'files'],
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,80}$' },
    createdAt: { type: 'string' },
    tool: { type: 'string' },
    files: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'action', 'sha256'],
        properties: {
          path: { type: 'string', pattern: '^/' },
          action: { enum: ['modified', 'created'] },
          sha256: sha,
          mode: { type: 'string', pattern: '^[0-7]{3,4}$' },
          uid: { type: 'integer', minimum: 0 },
          gid: { type: 'integer', minimum: 0 },
          copy: { type: 'string', pattern: '^[0-9]+\\.orig$' },
          madeDirs: { type: 'string', pattern: '^[0-9]+\\.dirs$' },
          restart: { enum: ['kubelet', 'kubelet+daemon-reload', 'static-pod:kube-apiserver'] },
        },
      },
    },
  },
} as const;
const validMetadata = new Ajv({ allErrors: true, strict: false }).compile(metadataSchema);

/**
 * A metadata.json as kubemend wrote it, or a NodeError naming the file: the file is on the node, so a
 * record that is not one (not JSON, a field of another type, an id that is not its directory's) is
 * that node's error, never a crash of kubemend and never silently skipped (rollback would pick an
 * older backup).
 */
export function backupInfo(node: string, m: BackupMetadataFile): BackupInfo {
  const file = `${backupDir(m.dir)}/metadata.json`;
  const refuse = (why: string) =>
    new NodeError(
      node,
      `${node}: ${file} is not a kubemend backup record: ${why}`,
      'remote-command',
      `look at ${file} on ${node}; kubemend lists and restores no backup there until it is one of its records again (or removed)`,
    );
  let data: unknown;
  try {
    data = JSON.parse(m.text);
  } catch (e) {
    throw refuse(`not JSON (${(e as Error).message})`);
  }
  if (!validMetadata(data))
    throw refuse(
      (validMetadata.errors ?? [])
        .slice(0, 3)
        .map((e) => `${e.instancePath || '(top)'} ${e.message ?? ''}`)
        .join('; '),
    );
  const b = data as unknown as BackupInfo;
  if (b.id !== m.dir) throw refuse(`its id ${b.id} is not the name of its directory`);
  return b;
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
