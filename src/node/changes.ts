/**
 * The operations apply, rollback and recovery perform on a node, each one script of
 * src/node/scripts/ run with its values as arguments (src/node/remote.ts). Typed in, typed out:
 * callers never see a command line or parse a marker.
 */
import type { IssueCert, PlannedChange } from '../plan/types.js';
import { BACKUP_ROOT, runScript, scriptCommand, StepError } from './remote.js';
import type { HeldCommand, NodeSession } from './ssh/types.js';

export type Restart = PlannedChange['restart'];

export interface FileToWrite {
  path: string;
  action: 'modify' | 'create';
  /** Expected sha256 of the current file (modify). */
  beforeSha256: string | null;
  content: string;
  afterSha256: string;
}

export interface BackupEntry {
  path: string;
  action: 'modified' | 'created';
  sha256: string;
  mode?: string;
  uid?: number;
  gid?: number;
  /** File name inside the backup directory (modified files only). */
  copy?: string;
  /**
   * Created files only: the file inside the backup directory that names the topmost directory the
   * apply had to make for this file (there is none when every directory existed). Restore removes
   * those directories again when they are empty, and never one that existed before.
   */
  madeDirs?: string;
  /** What must restart when this file changes back. */
  restart?: Restart;
}

/** The record of a run that has written on the node and not finished (/var/lib/kubemend/inflight.json). */
export interface Inflight {
  runId: string;
  tool: string;
  startedAt: string;
  /** The node's clock when the run started writing (epoch seconds), for its journal. */
  nodeTime?: number;
  backup: string;
  restarts: Restart[];
  files: BackupEntry[];
}

/** Run ids name directories on the node: letters, digits and dashes only. */
export const isRunId = (s: string): boolean => /^[A-Za-z0-9][A-Za-z0-9-]{0,80}$/.test(s);

/** Name of a modified file's copy inside its backup directory. */
export const backupName = (index: number): string => `${index}.orig`;

/** Name of the record of directories made for a created file (see BackupEntry.madeDirs). */
export const madeDirsName = (index: number): string => `${index}.dirs`;

export const backupDir = (runId: string): string => `${BACKUP_ROOT}/${runId}`;

/** What lock.sh answered (its first line), typed. */
export type LockAnswer =
  | { kind: 'locked' }
  /** A tool lock.sh needs is not installed. */
  | { kind: 'missing'; tool: 'flock (util-linux)' | 'timeout (coreutils)' }
  /** The lock directory is not safe to use: why, in lock.sh's words. */
  | { kind: 'unsafe-dir'; why: string }
  /** An older kubemend holds its lock (LEGACY_LOCK). */
  | { kind: 'legacy' }
  /** Another run holds the lock (or lock.sh said nothing kubemend knows). */
  | { kind: 'held' };

export function lockAnswer(firstLine: string): LockAnswer {
  if (firstLine === 'LOCKED') return { kind: 'locked' };
  if (firstLine === 'NOFLOCK') return { kind: 'missing', tool: 'flock (util-linux)' };
  if (firstLine === 'NOTIMEOUT') return { kind: 'missing', tool: 'timeout (coreutils)' };
  if (firstLine.startsWith('NORUNDIR '))
    return { kind: 'unsafe-dir', why: firstLine.slice('NORUNDIR '.length) };
  if (firstLine === 'LEGACY') return { kind: 'legacy' };
  return { kind: 'held' };
}

/** Takes the node lock: the held command (release it in every case) and what lock.sh answered. */
export async function holdLock(
  session: NodeSession,
  owner: string,
): Promise<{ held: HeldCommand; answer: LockAnswer }> {
  const held = await session.hold(scriptCommand('lock', [owner]));
  return { held, answer: lockAnswer(held.firstLine) };
}

/** The owner record of the node lock (LOCK_DIR), or of an older kubemend's lock (LEGACY_LOCK). */
export async function lockOwner(
  session: NodeSession,
  which: 'current' | 'legacy' = 'current',
): Promise<string> {
  const args = which === 'legacy' ? ['legacy'] : [];
  return (await runScript(session, 'lock-owner', args, { step: 'lock', timeoutSec: 30 })).stdout.trim();
}

/** The inflight record on the node: undefined when there is none, 'unreadable' when it is not ours to parse. */
export async function readInflight(session: NodeSession): Promise<Inflight | 'unreadable' | undefined> {
  const text = (await runScript(session, 'inflight-read', [], { step: 'recover', timeoutSec: 30 })).stdout;
  return parseInflight(text);
}

export function parseInflight(text: string): Inflight | 'unreadable' | undefined {
  if (!text.trim()) return undefined;
  try {
    const v = JSON.parse(text) as Partial<Inflight>;
    if (
      typeof v.runId !== 'string' ||
      !isRunId(v.runId) ||
      !Array.isArray(v.files) ||
      !Array.isArray(v.restarts)
    )
      return 'unreadable';
    return v as Inflight;
  } catch {
    return 'unreadable';
  }
}

export async function writeInflight(session: NodeSession, inflight: Inflight): Promise<void> {
  await runScript(session, 'inflight-write', [], {
    step: 'write',
    stdin: JSON.stringify(inflight),
    timeoutSec: 30,
  });
}

/** Removes the inflight record if it is this run's (never another run's). */
export async function clearInflight(session: NodeSession, runId: string, step: string): Promise<void> {
  await runScript(session, 'inflight-clear', [runId], { step, timeoutSec: 30 });
}

/**
 * Checks staleness, safe directories and room, copies every file about to change into the run's
 * backup directory and writes its metadata. Throws StepError with reason stale / exists / link /
 * unsafe / nospace (nothing was written outside the backup directory, which is removed again).
 * Returns the node's clock.
 */
export async function backUp(
  session: NodeSession,
  runId: string,
  files: readonly FileToWrite[],
  metadata: object,
  /** Certificates and keys --issue-certs will make: checked (absent, in a safe directory), not copied. */
  toIssue: readonly string[] = [],
): Promise<{ nodeTime: number }> {
  const args = [
    ...files.flatMap((f) => [f.action, f.path, f.beforeSha256 ?? '-']),
    ...toIssue.flatMap((path) => ['issue', path, '-']),
  ];
  const r = await runScript(session, 'backup', [runId, ...args], {
    step: 'backup',
    stdin: JSON.stringify(metadata, null, 2),
    timeoutSec: 120,
  });
  return { nodeTime: Number(/^time (\d+)$/m.exec(r.stdout)?.[1] ?? 0) };
}

export async function writeMetadata(session: NodeSession, runId: string, metadata: object): Promise<void> {
  await runScript(session, 'metadata-write', [runId], {
    step: 'issue',
    stdin: JSON.stringify(metadata, null, 2),
    timeoutSec: 30,
  });
}

/** Atomic write of one file (stale / exists / link / write on failure; the target is then as it was). */
export async function writeFile(session: NodeSession, runId: string, f: FileToWrite): Promise<void> {
  await runScript(session, 'write-file', [runId, f.action, f.path, f.beforeSha256 ?? '-', f.afterSha256], {
    step: 'write',
    stdin: f.content,
    timeoutSec: 120,
  });
}

/** A created file a restore did not remove, because it is no longer provably the one kubemend wrote. */
export interface LeftFile {
  path: string;
  why: string;
}

/**
 * Puts every file of a backup back (modified: atomic copy back with mode/owner; created: removed,
 * with the directories made for it when they are empty, but only while its sha256 is the one
 * kubemend wrote). Returns the paths it did not have to touch (already as in the backup) and the
 * created files it left in place, with why.
 */
export async function restoreFiles(
  session: NodeSession,
  runId: string,
  entries: readonly BackupEntry[],
): Promise<{ unchanged: string[]; left: LeftFile[] }> {
  const args = entries.flatMap((e) =>
    e.action === 'created'
      ? ['created', e.path, e.sha256 || '-', e.madeDirs ?? '-', '-', '-']
      : ['modified', e.path, e.sha256, e.copy ?? '', e.mode ?? '644', `${e.uid ?? 0}:${e.gid ?? 0}`],
  );
  const r = await runScript(session, 'restore', [runId, ...args], { step: 'restore', timeoutSec: 120 });
  const unchanged = new Set([...r.stdout.matchAll(/^unchanged (\d+)$/gm)].map((m) => Number(m[1])));
  const left = [...r.stdout.matchAll(/^left (\d+) (\w+) ?(\S*)$/gm)].flatMap((m) => {
    const e = entries[Number(m[1])];
    return e ? [{ path: e.path, why: leftWhy(e, m[2]!, m[3]!) }] : [];
  });
  return { unchanged: entries.filter((_, i) => unchanged.has(i)).map((e) => e.path), left };
}

const leftWhy = (e: BackupEntry, kind: string, now: string): string =>
  kind === 'changed'
    ? `its sha256 is ${now} now, not the ${e.sha256} kubemend wrote: someone changed or replaced it after kubemend created it`
    : kind === 'notfile'
      ? 'it is no longer a regular file (a link or a directory took its place) since kubemend created it'
      : 'the backup records no sha256 for it (an older kubemend, or a run that died before it knew), so nothing proves it is the file kubemend made';

export type IssueSpec = Omit<IssueCert, 'control'>;

/** Makes a key and client certificate on the node; returns their sha256s. */
export async function issueCertificate(
  session: NodeSession,
  runId: string,
  i: IssueSpec,
): Promise<{ certSha256: string; keySha256: string }> {
  const r = await runScript(
    session,
    'issue-cert',
    [runId, i.certificate, i.key, i.caCertificate, i.caKey, i.subject, String(i.days)],
    { step: `issue ${i.certificate}`, timeoutSec: 120 },
  );
  const m = /^issued (\S+) (\S+)$/m.exec(r.stdout);
  return { certSha256: m?.[1] ?? '', keySha256: m?.[2] ?? '' };
}

export async function appendNodeJournal(session: NodeSession, runId: string, line: string): Promise<void> {
  await runScript(session, 'journal-append', [runId, line], { step: 'journal', timeoutSec: 30 });
}

/** A backup's metadata.json as found on the node: its directory's name and its text. */
export interface BackupMetadataFile {
  /** The name of the directory under /var/lib/kubemend/backups that holds it. */
  dir: string;
  text: string;
}

/**
 * Every backup's metadata.json on the node, undecoded (backups.ts judges them: the node wrote
 * them, so they are the node's text). metadata.json is written whole (temporary file, rename).
 */
export async function listBackupMetadata(session: NodeSession): Promise<BackupMetadataFile[]> {
  const r = await runScript(session, 'list-backups', [], { step: 'list backups', timeoutSec: 60 });
  return r.stdout
    .split('\n')
    .map((line) => /^([A-Za-z0-9+/=]*) ([A-Za-z0-9+/=]*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      dir: Buffer.from(m[1] ?? '', 'base64').toString('utf8'),
      text: Buffer.from(m[2] ?? '', 'base64').toString('utf8'),
    }));
}

export async function readNodeFile(session: NodeSession, path: string): Promise<string> {
  return (await runScript(session, 'read-file', [path], { step: `read ${path}`, timeoutSec: 30 })).stdout;
}

/** Whether there is no file at `path` on the node (a dangling link is a file here); other failures throw. */
export async function nodeFileAbsent(session: NodeSession, path: string): Promise<boolean> {
  return readNodeFile(session, path).then(
    () => false,
    (e: unknown) => {
      if (e instanceof StepError && e.reason === 'absent') return true;
      throw e;
    },
  );
}

export async function nodeTime(session: NodeSession): Promise<number> {
  const r = await runScript(session, 'node-time', [], { step: 'clock', timeoutSec: 30 });
  return Number(r.stdout.trim()) || 0;
}

export async function restartKubelet(
  session: NodeSession,
  daemonReload: boolean,
  step: string,
): Promise<void> {
  await runScript(session, 'restart-kubelet', [daemonReload ? 'daemon-reload' : 'no-reload'], {
    step,
    timeoutSec: 120,
  });
}

/** The kubelet's journal since a time of the node's clock: the evidence of a rollback. */
export async function kubeletJournal(
  session: NodeSession,
  sinceNodeTime: number | undefined,
): Promise<string[]> {
  if (!sinceNodeTime) return [];
  const r = await runScript(session, 'kubelet-journal', [String(sinceNodeTime)], {
    step: 'evidence',
    timeoutSec: 30,
  }).catch(() => undefined);
  return (r?.stdout ?? '').split('\n').filter(Boolean).slice(-40);
}

/** One answer of the live trust probe: an HTTP status, or why there was none (trust-probe.sh). */
export interface ProbeAnswer {
  url: string;
  answer: string;
}

/** Who called: the kubelet client pair the running kube-apiserver presents, or why there is none. */
export type ProbeCaller =
  | { kind: 'pair'; certificate: string; key: string }
  | { kind: 'none' }
  | { kind: 'anonymous' }
  | { kind: 'badpath' }
  /** More than one root process could be the node's kube-apiserver: no probe ran (their pids). */
  | { kind: 'ambiguous'; pids: number[] };

/**
 * On a control plane: one HTTPS request to each kubelet URL with the kubelet client certificate
 * and key its running kube-apiserver was started with, read there from its command line; the key
 * stays on that node (only its path travels back).
 */
export async function trustProbe(
  session: NodeSession,
  urls: readonly string[],
  /** URLs asked with no credentials at all (a kubelet whose door was closed must refuse them). */
  anonymous: readonly string[] = [],
): Promise<{ caller: ProbeCaller; answers: ProbeAnswer[]; anonymous: ProbeAnswer[] }> {
  const args = anonymous.length > 0 ? [...urls, '--anonymous', ...anonymous] : urls;
  const r = await runScript(session, 'trust-probe', args, {
    step: 'trust gate',
    timeoutSec: 15 * args.length + 15,
  });
  const field = (tag: string) => new RegExp(`^${tag} (.*)$`, 'm').exec(r.stdout)?.[1];
  const said = field('KMCALLER') ?? '';
  const kind = said.split(' ')[0];
  const certificate = field('KMCERT');
  const key = field('KMKEY');
  const caller: ProbeCaller =
    kind === 'pair' && certificate && key
      ? { kind: 'pair', certificate, key }
      : kind === 'ambiguous'
        ? {
            kind,
            pids: said
              .split(' ')
              .slice(1)
              .filter((w) => /^[1-9]\d{0,9}$/.test(w))
              .map(Number),
          }
        : { kind: kind === 'anonymous' || kind === 'badpath' ? kind : 'none' };
  const tagged = (tag: string) =>
    r.stdout.split('\n').flatMap((line) => {
      const m = new RegExp(`^${tag} (\\S+) (\\S+)$`).exec(line);
      return m ? [{ answer: m[1]!, url: m[2]! }] : [];
    });
  return { caller, answers: tagged('KMPROBE'), anonymous: tagged('KMANON') };
}
