/**
 * The remote commands apply, rollback and backups run. POSIX sh + coreutils (sha256sum, base64,
 * stat, df, sync, mv) + util-linux flock. Every write goes to a dot-named temporary file beside the
 * target (the kubelet skips dot-files in the static pod directory), is fsync'ed, checked against its
 * planned sha256, and renamed over the target: a reader sees the old file or the new one, never half.
 */

import type { IssueCert } from '../plan/types.js';

export const STATE_DIR = '/var/lib/kubemend';
export const BACKUP_ROOT = `${STATE_DIR}/backups`;
export const LOCK_FILE = `${STATE_DIR}/lock`;
/** Written while a run has changed files on the node and not yet finished; a later run finds it. */
export const INFLIGHT_FILE = `${STATE_DIR}/inflight.json`;

export const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * Holds the node lock while the controller keeps writing heartbeat lines (session.hold): it ends on
 * EOF, on a dropped connection, or after 20 s without a heartbeat, and the kernel drops the flock.
 */
export function lockHolderScript(owner: string): string {
  return `mkdir -p ${BACKUP_ROOT} && chmod 700 ${STATE_DIR} ${BACKUP_ROOT} || exit 70
command -v flock >/dev/null || { echo NOFLOCK; exit 71; }
exec flock -n -E 75 ${LOCK_FILE} sh -c 'printf %s ${b64(owner)} | base64 -d > ${LOCK_FILE}.owner; echo LOCKED; while l=$(timeout 20 head -n 1) && [ -n "$l" ]; do :; done'`;
}

export const readLockOwnerScript = `cat ${LOCK_FILE}.owner 2>/dev/null; echo; cat ${INFLIGHT_FILE} 2>/dev/null`;

export interface FileToWrite {
  path: string;
  action: 'modify' | 'create';
  /** Expected sha256 of the current file (modify). */
  beforeSha256: string | null;
  content: string;
  afterSha256: string;
}

/** Relative name of a file inside a backup directory. */
export const backupName = (index: number, path: string) => `${index}-${path.replaceAll('/', '_')}`;

/**
 * Checks staleness and free space, then copies every file about to change into the run's backup
 * directory (0700, files 0600 via umask, mode and owner kept in metadata) and writes the metadata.
 * Exit 4 (STALE/EXISTS), 5 (LINK: a target is a symbolic link, whose mode a rename would lose and
 * whose target it would not change) or 28 (NOSPACE) means nothing was written outside the backup
 * directory, which is then removed.
 */
export function backupScript(runId: string, files: readonly FileToWrite[], metadata: object): string {
  const dir = `${BACKUP_ROOT}/${runId}`;
  const need = files.reduce((n, f) => n + Buffer.byteLength(f.content) * 2, 0) + 1024 * 1024;
  const checks = files
    .map((f) =>
      f.action === 'modify'
        ? `[ -f ${shq(f.path)} ] || fail 4 "STALE ${f.path} no longer exists"
[ ! -L ${shq(f.path)} ] || fail 5 "LINK ${f.path} is a symbolic link to $(readlink -f ${shq(f.path)}): kubemend writes only regular files, so it leaves the link and its target as they are; change the target by hand, or replace the link with a file and plan again"
[ "$(sha256sum < ${shq(f.path)} | cut -d ' ' -f 1)" = ${shq(f.beforeSha256 ?? '')} ] || fail 4 "STALE ${f.path} changed since the plan was made"`
        : `[ ! -e ${shq(f.path)} ] && [ ! -L ${shq(f.path)} ] || fail 4 "EXISTS ${f.path} exists now but the plan creates it"`,
    )
    .join('\n');
  const copies = files
    .map((f, i) =>
      f.action === 'modify'
        ? `cp ${shq(f.path)} "$B/${backupName(i, f.path)}" || fail 28 "NOSPACE copying ${f.path}: $(df -Pk "$B" | awk 'NR==2{print $4}') KiB free"
stat -c '%a %u %g' ${shq(f.path)} > "$B/${backupName(i, f.path)}.stat"`
        : '',
    )
    .join('\n');
  return `umask 077
B=${shq(dir)}
fail() { echo "$2"; rm -rf "$B"; exit "$1"; }
${checks}
mkdir -p "$B" || fail 28 "NOSPACE cannot create $B"
chmod 700 "$B"
avail=$(df -Pk "$B" | awk 'NR==2{print $4}')
[ "$((avail * 1024))" -ge ${need} ] || fail 28 "NOSPACE $B has $avail KiB free, kubemend needs $(( ${need} / 1024 )) KiB for backups"
${copies}
printf %s ${shq(b64(JSON.stringify(metadata, null, 2)))} | base64 -d > "$B/metadata.json" || fail 28 "NOSPACE writing metadata"
sync
echo BACKED-UP`;
}

/** Atomic write of every file: temp dot-file beside the target, verify, fsync, rename, fsync the dir. */
export function writeScript(runId: string, files: readonly FileToWrite[], inflight: object): string {
  const steps = files.map((f) => {
    const dir = f.path.replace(/\/[^/]*$/, '') || '/';
    const name = f.path.slice(dir.length + 1);
    const tmp = `${dir}/.${name}.kubemend-${runId}.tmp`;
    const keep =
      f.action === 'modify'
        ? `chmod "$(stat -c %a ${shq(f.path)})" ${shq(tmp)} && chown "$(stat -c %u:%g ${shq(f.path)})" ${shq(tmp)}`
        : `mkdir -p ${shq(dir)} && chmod 644 ${shq(tmp)}`;
    const recheck =
      f.action === 'modify'
        ? `[ "$(sha256sum < ${shq(f.path)} | cut -d ' ' -f 1)" = ${shq(f.beforeSha256 ?? '')} ] || { rm -f ${shq(tmp)}; echo "STALE ${f.path} changed during the apply"; exit 4; }`
        : `[ ! -e ${shq(f.path)} ] || { rm -f ${shq(tmp)}; echo "EXISTS ${f.path}"; exit 4; }`;
    return `mkdir -p ${shq(dir)}
printf %s ${shq(b64(f.content))} | base64 -d > ${shq(tmp)} || { rm -f ${shq(tmp)}; echo "WRITE-FAILED ${f.path}"; exit 1; }
[ "$(sha256sum < ${shq(tmp)} | cut -d ' ' -f 1)" = ${shq(f.afterSha256)} ] || { rm -f ${shq(tmp)}; echo "WRITE-FAILED ${f.path} (content check)"; exit 1; }
${keep} || { rm -f ${shq(tmp)}; echo "WRITE-FAILED ${f.path} (mode/owner)"; exit 1; }
sync ${shq(tmp)} 2>/dev/null || sync
${recheck}
mv -f ${shq(tmp)} ${shq(f.path)} || { rm -f ${shq(tmp)}; echo "WRITE-FAILED ${f.path} (rename)"; exit 1; }
sync ${shq(dir)} 2>/dev/null || sync
echo "WROTE ${f.path}"`;
  });
  return `umask 022
printf %s ${shq(b64(JSON.stringify(inflight)))} | base64 -d > ${INFLIGHT_FILE} || { echo "WRITE-FAILED ${INFLIGHT_FILE}"; exit 1; }
sync
${steps.join('\n')}
echo WRITTEN`;
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
  /** What must restart when this file changes back. */
  restart?: 'kubelet' | 'kubelet+daemon-reload' | 'static-pod:kube-apiserver';
}

/** Puts every file of a backup back (modified: atomic copy back with mode/owner; created: removed). */
export function restoreScript(runId: string, entries: readonly BackupEntry[]): string {
  const dir = `${BACKUP_ROOT}/${runId}`;
  const steps = entries.map((e) => {
    if (e.action === 'created') return `rm -f ${shq(e.path)} && echo "REMOVED ${e.path}"`;
    const d = e.path.replace(/\/[^/]*$/, '') || '/';
    const tmp = `${d}/.${e.path.slice(d.length + 1)}.kubemend-restore.tmp`;
    return `cp ${shq(`${dir}/${e.copy ?? ''}`)} ${shq(tmp)} || { echo "RESTORE-FAILED ${e.path}"; exit 1; }
[ "$(sha256sum < ${shq(tmp)} | cut -d ' ' -f 1)" = ${shq(e.sha256)} ] || { rm -f ${shq(tmp)}; echo "RESTORE-FAILED ${e.path} (backup copy does not match its sha256)"; exit 1; }
chmod ${shq(e.mode ?? '644')} ${shq(tmp)} && chown ${e.uid ?? 0}:${e.gid ?? 0} ${shq(tmp)}
sync ${shq(tmp)} 2>/dev/null || sync
mv -f ${shq(tmp)} ${shq(e.path)} || { echo "RESTORE-FAILED ${e.path} (rename)"; exit 1; }
sync ${shq(d)} 2>/dev/null || sync
echo "RESTORED ${e.path}"`;
  });
  return `${steps.join('\n')}
echo RESTORE-DONE`;
}

/** Rewrites a run's metadata.json (after issuing certificates, to record their sha256). */
export const metadataScript = (runId: string, metadata: object) =>
  `printf %s ${shq(b64(JSON.stringify(metadata, null, 2)))} | base64 -d > ${BACKUP_ROOT}/${runId}/metadata.json`;

/** Lists every backup's metadata on the node, one base64 JSON per line. */
export const listBackupsScript = `for m in ${BACKUP_ROOT}/*/metadata.json; do [ -f "$m" ] && base64 < "$m" | tr -d '\\n' && echo; done; true`;

export const appendNodeJournalScript = (runId: string, line: string) =>
  `[ -d ${BACKUP_ROOT}/${runId} ] && printf '%s\\n' ${shq(line)} >> ${BACKUP_ROOT}/${runId}/journal.jsonl; true`;

/** The kubelet's systemd state and its healthz answer. */
/** GET a URL with whatever the node has; prints "unchecked" when it has neither curl nor wget. */
const httpGet = (url: string) =>
  `if command -v curl >/dev/null; then curl -sf -m 2 ${shq(url)}; elif command -v wget >/dev/null; then wget -qO- -T 2 ${shq(url)}; else printf unchecked; fi 2>/dev/null`;

/** The kubelet's systemd state and its healthz answer. */
export const kubeletStateScript = (healthzUrl: string | null) =>
  `systemctl show kubelet -p MainPID -p NRestarts -p ActiveState -p SubState
${healthzUrl ? `echo "Healthz=$(${httpGet(healthzUrl)})"` : 'echo Healthz=unchecked'}`;

/**
 * Running kube-apiserver processes (pid + base64 NUL-separated argv) and the /livez answer; with
 * curl, the HTTP status follows the body as " HTTP<code>".
 */
export const apiserverStateScript = (livezUrl: string) =>
  `for d in /proc/[0-9]*; do { read -r c < $d/comm; } 2>/dev/null && [ "$c" = kube-apiserver ] && echo "PROC \${d#/proc/} $(base64 < $d/cmdline | tr -d '\\n')"; done
echo "Livez=$(if command -v curl >/dev/null; then curl -sk -m 2 -w ' HTTP%{http_code}' '${livezUrl}'; elif command -v wget >/dev/null; then wget -qO- -T 2 --no-check-certificate '${livezUrl}'; else printf unchecked; fi 2>/dev/null)"`;

export type IssueSpec = Omit<IssueCert, 'control'>;

/**
 * plan --issue-certs: makes a key and a client certificate signed by the cluster CA, on the node
 * (the keys never travel), only while neither file exists; checks pair and chain before putting
 * them in place with a rename. Prints "ISSUED <cert sha256> <key sha256>".
 */
export function issueScript(runId: string, i: IssueSpec): string {
  const place = (from: string, to: string, mode: string) => {
    const d = to.replace(/\/[^/]*$/, '') || '/';
    const tmp = `${d}/.${to.slice(d.length + 1)}.kubemend-${runId}.tmp`;
    return `cp "$T/${from}" ${shq(tmp)} && chmod ${mode} ${shq(tmp)} && sync ${shq(tmp)} 2>/dev/null; mv -f ${shq(tmp)} ${shq(to)} || fail "cannot place ${to}"`;
  };
  return `umask 077
T=$(mktemp -d ${STATE_DIR}/issue.XXXXXX) || { echo "ISSUE-FAILED cannot make a work directory"; exit 1; }
fail() { rm -rf "$T"; echo "ISSUE-FAILED $1"; exit 1; }
[ ! -e ${shq(i.certificate)} ] && [ ! -e ${shq(i.key)} ] || { rm -rf "$T"; echo "EXISTS ${i.certificate} or ${i.key} exists now"; exit 4; }
openssl genrsa -out "$T/key" 2048 2>/dev/null || fail "openssl genrsa"
openssl req -new -key "$T/key" -subj ${shq(i.subject)} -out "$T/csr" 2>/dev/null || fail "openssl req"
printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature,keyEncipherment\\nextendedKeyUsage=clientAuth\\n' > "$T/ext"
openssl x509 -req -in "$T/csr" -CA ${shq(i.caCertificate)} -CAkey ${shq(i.caKey)} -set_serial "0x$(openssl rand -hex 16)" -days ${i.days} -sha256 -extfile "$T/ext" -out "$T/crt" 2>/dev/null || fail "openssl x509 -req (signing with ${i.caKey})"
[ "$(openssl x509 -noout -pubkey -in "$T/crt")" = "$(openssl pkey -pubout -in "$T/key")" ] || fail "the new certificate does not match its key"
openssl verify -CAfile ${shq(i.caCertificate)} "$T/crt" >/dev/null 2>&1 || fail "the new certificate does not verify against ${i.caCertificate}"
mkdir -p "$(dirname ${shq(i.key)})" "$(dirname ${shq(i.certificate)})"
${place('key', i.key, '600')}
${place('crt', i.certificate, '644')}
echo "ISSUED $(sha256sum < ${shq(i.certificate)} | cut -d ' ' -f 1) $(sha256sum < ${shq(i.key)} | cut -d ' ' -f 1)"
rm -rf "$T"`;
}
