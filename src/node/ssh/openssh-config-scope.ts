/**
 * One `ssh -G` for many nodes, where ssh's configuration cannot tell them apart. `ssh -G` costs a
 * process per node (its own CPU and a fork of kubemend's); on a fleet of thousands that was a
 * quarter of kubemend's CPU. Its answer depends on the command line (the same for every node but
 * the destination) and on the config files; when those files hold no Host block but `Host *`, no
 * Match, no canonicalization and no %-token in a setting kubemend reads, every destination gets the
 * same settings except `host` (the destination as given) and `hostname` (the same, lowercased).
 * Anything else, and each node runs its own `ssh -G`, as before. Pure: the files come as text.
 */

/** The config files `ssh -v -G` says it read ("debug1: Reading configuration data FILE"), in order. */
export function configFilesRead(stderr: string): string[] {
  const files: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^debug1: Reading configuration data (.+?)\r?$/.exec(line);
    if (m) files.push(m[1]!);
  }
  return files;
}

/** ssh's own messages, without -v's debug lines and version banner (for an error message). */
export function withoutDebug(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !/^debug\d: /.test(l) && !/^OpenSSH_\S+/.test(l))
    .join('\n');
}

/**
 * Settings kubemend reads from `ssh -G` (openssh-settings.ts, openssh-session.ts): a %-token in one
 * of them could expand to something that differs per host (%h, %n, %C, %k…).
 */
const READ_KEYS = new Set([
  'hostname',
  'user',
  'port',
  'proxycommand',
  'proxyjump',
  'identityfile',
  'certificatefile',
  'pkcs11provider',
  'hostkeyalias',
  'gssapiauthentication',
  'include',
]);

/**
 * Why these config files could give two destinations different settings, or undefined when they
 * cannot: any Host pattern other than `*`, any Match (its `exec` may even answer differently from
 * one call to the next), canonicalization (a second pass under another name), or a % in a setting
 * kubemend reads.
 */
export function hostDependence(files: readonly { path: string; text: string }[]): string | undefined {
  for (const { path, text } of files) {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([A-Za-z0-9]+)(?:\s*=\s*|\s+)?(.*)$/.exec(line);
      if (!m) return `${path}:${i + 1}: a line kubemend does not read`;
      const key = m[1]!.toLowerCase();
      const rest = m[2]!.trim();
      const where = `${path}:${i + 1}`;
      if (key === 'match') return `${where}: Match`;
      if (key === 'host' && rest.split(/\s+/).some((p) => p !== '*')) return `${where}: Host ${rest}`;
      if (key.startsWith('canonical')) return `${where}: ${m[1]}`;
      if (READ_KEYS.has(key) && rest.includes('%')) return `${where}: a %-token in ${m[1]}`;
      // Every node would dial that one address: ssh -G says so per node, not as its destination.
      if (key === 'hostname') return `${where}: HostName`;
    }
  }
  return undefined;
}

/** A destination ssh takes as a plain host name or address (no user@, no brackets, ASCII). */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * `ssh -G`'s output for `dest`, from its output for `canaryDest` under the same command line and
 * host-independent config files; undefined where that output does not look as expected (then the
 * node runs its own `ssh -G`).
 */
export function deriveSettingsText(canaryText: string, canaryDest: string, dest: string): string | undefined {
  if (!PLAIN.test(dest) || !PLAIN.test(canaryDest)) return undefined;
  const lower = canaryDest.toLowerCase();
  const out: string[] = [];
  let host = false;
  let hostname = false;
  for (const line of canaryText.split('\n')) {
    if (line === `host ${canaryDest}`) {
      host = true;
      out.push(`host ${dest}`);
    } else if (line === `hostname ${lower}`) {
      hostname = true;
      out.push(`hostname ${dest.toLowerCase()}`);
    } else if (line.toLowerCase().includes(lower)) {
      // The destination inside another setting (a token ssh expanded): not derivable.
      return undefined;
    } else out.push(line);
  }
  return host && hostname ? out.join('\n') : undefined;
}
