/**
 * What `ssh -G NODE` says ssh would do, and which of it the built-in client cannot do. The
 * decision is pure (files are read through a callback) so it is tested on plain text.
 */
import { parseProxyCommand } from '../../inventory/jump.js';
import type { NodeTarget } from '../../inventory/types.js';
import { hostFieldMatches, hostLookupName, parseKnownHosts } from './known-hosts.js';

/** `ssh -G` output: lowercase keyword → every value, in order. */
export type SshSettings = Map<string, string[]>;

export function parseSettings(text: string): SshSettings {
  const settings: SshSettings = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space).toLowerCase();
    const list = settings.get(key) ?? [];
    list.push(line.slice(space + 1));
    settings.set(key, list);
  }
  return settings;
}

export function first(settings: SshSettings, key: string): string | undefined {
  return settings.get(key)?.[0];
}

export interface DecisionFiles {
  /** File text, or undefined when missing or unreadable. */
  read(path: string): string | undefined;
  exists(path: string): boolean;
  /** ssh's own ~ (the login home from the password database, not $HOME). */
  sshHome: string;
  /**
   * Whether a Kerberos credential could be at hand (transport.ts kerberosCredentials): without one,
   * `GSSAPIAuthentication yes` (Debian's /etc/ssh/ssh_config default) cannot authenticate, and ssh
   * goes on to keys as the built-in client does. Undefined: assume it could.
   */
  kerberos?: boolean;
}

const off = new Set(['no', 'false', 'none']);

/**
 * Why this node needs the system ssh client; empty when the built-in client does the same thing.
 * `where` reasons change where or as whom ssh connects: the built-in client must not stand in there.
 */
export function opensshReasons(
  settings: SshSettings,
  target: NodeTarget,
  files: DecisionFiles,
): { reasons: string[]; where: string[] } {
  const reasons: string[] = [];
  const where: string[] = [];
  const expand = (p: string): string => (p === '~' || p.startsWith('~/') ? files.sshHome + p.slice(1) : p);

  const proxyCommand = first(settings, 'proxycommand');
  if (proxyCommand !== undefined && !off.has(proxyCommand.toLowerCase())) {
    const parsed = parseProxyCommand(proxyCommand);
    if ('error' in parsed || target.proxyJump.length === 0) where.push(`ProxyCommand ${proxyCommand}`);
  }
  const proxyJump = first(settings, 'proxyjump');
  if (proxyJump !== undefined && !off.has(proxyJump.toLowerCase()) && target.proxyJump.length === 0)
    where.push(`ProxyJump ${proxyJump}`);
  const hostName = first(settings, 'hostname');
  if (hostName !== undefined && hostName.toLowerCase() !== target.host.toLowerCase())
    where.push(`HostName ${hostName}`);
  const user = first(settings, 'user');
  if (user !== undefined && user !== target.user) where.push(`User ${user}`);
  const port = first(settings, 'port');
  if (port !== undefined && Number(port) !== target.port) where.push(`Port ${port}`);
  const canonicalize = first(settings, 'canonicalizehostname');
  if (canonicalize !== undefined && !off.has(canonicalize))
    where.push(`CanonicalizeHostname ${canonicalize}`);

  for (const cert of settings.get('certificatefile') ?? []) reasons.push(`CertificateFile ${cert}`);
  for (const identity of settings.get('identityfile') ?? []) {
    const file = expand(identity);
    if (files.exists(`${file}-cert.pub`)) reasons.push(`user certificate ${file}-cert.pub`);
    const pub = files.read(`${file}.pub`);
    if (pub !== undefined && /^sk-/.test(pub.trim())) reasons.push(`FIDO key ${file}`);
  }
  if (first(settings, 'gssapiauthentication') === 'yes' && files.kerberos !== false)
    reasons.push('GSSAPIAuthentication yes');
  const pkcs11 = first(settings, 'pkcs11provider');
  if (pkcs11 !== undefined && !off.has(pkcs11.toLowerCase())) reasons.push(`PKCS11Provider ${pkcs11}`);
  const alias = first(settings, 'hostkeyalias');
  if (alias !== undefined) reasons.push(`HostKeyAlias ${alias}`);

  // Host certificates: the known_hosts file kubemend passes to ssh names a CA for this host.
  const text = files.read(target.knownHostsFile);
  if (text !== undefined) {
    const name = hostLookupName(hostName ?? target.host, port === undefined ? target.port : Number(port));
    const ca = parseKnownHosts(text).entries.find(
      (e) => e.marker === 'cert-authority' && hostFieldMatches(e.hosts, name),
    );
    if (ca) reasons.push(`host certificate (@cert-authority at ${target.knownHostsFile}:${ca.line})`);
  }
  return { reasons: [...where, ...reasons], where };
}
