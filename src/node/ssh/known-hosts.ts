/**
 * known_hosts in OpenSSH's format: parse, match a presented host key, append an accepted one.
 * Everything except appendKnownHost and readKnownHosts is pure, so it is tested without a server.
 *
 * Matching follows OpenSSH (hostfile.c, match.c): the name looked up is the host, or `[host]:port`
 * when the port is not 22, lowercased; plain entries hold comma lists of patterns with `*`, `?` and
 * `!` negation (a negated match excludes the line even if another pattern matched); hashed entries
 * hold `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export type KnownHostMarker = 'cert-authority' | 'revoked';

export type HostField =
  { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker?: KnownHostMarker;
  hosts: HostField;
  keyType: string;
  /** The public key blob (what the base64 field decodes to). */
  key: Buffer;
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[];
  /** Lines that are neither comments nor usable entries (OpenSSH skips them too). */
  skipped: { line: number; reason: string }[];
}

/**
 * Parsed once per distinct text: every node's connection, host key check and transport choice read
 * the same known_hosts file, and a fleet's file has a line per node (5,000 lines: about 6 ms a
 * parse, three times per node). The result is shared, so its arrays and entries are frozen.
 */
const parsedTexts = new Map<string, ParsedKnownHosts>();
const PARSED_TEXTS = 4;

export function parseKnownHosts(text: string): ParsedKnownHosts {
  let parsed = parsedTexts.get(text);
  if (!parsed) {
    parsed = parseText(text);
    for (const e of parsed.entries) {
      if (e.hosts.kind === 'patterns') Object.freeze(e.hosts.patterns);
      Object.freeze(e.hosts);
      Object.freeze(e);
    }
    Object.freeze(parsed.entries);
    Object.freeze(parsed.skipped);
    Object.freeze(parsed);
    if (parsedTexts.size >= PARSED_TEXTS) parsedTexts.clear();
    parsedTexts.set(text, parsed);
  }
  return parsed;
}

function parseText(text: string): ParsedKnownHosts {
  const entries: KnownHostEntry[] = [];
  const skipped: ParsedKnownHosts['skipped'] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const trimmed = (lines[i] ?? '').replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/[ \t]+/);
    let marker: KnownHostMarker | undefined;
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name === '@cert-authority') marker = 'cert-authority';
      else if (name === '@revoked') marker = 'revoked';
      else {
        skipped.push({ line, reason: `unknown marker ${name}` });
        continue;
      }
    }
    const [hostText, keyType, keyText] = fields;
    if (hostText === undefined || keyType === undefined || keyText === undefined) {
      skipped.push({ line, reason: 'expected: hosts keytype base64-key' });
      continue;
    }
    const hosts = parseHostField(hostText);
    if (!hosts) {
      skipped.push({ line, reason: `malformed hashed host ${hostText}` });
      continue;
    }
    const key = decodeBase64Strict(keyText);
    if (!key || keyTypeOfBlob(key) !== keyType) {
      // Also covers SSH-1 "bits exponent modulus" lines, which OpenSSH no longer reads either.
      skipped.push({ line, reason: `key does not decode as ${keyType}` });
      continue;
    }
    entries.push(marker ? { line, marker, hosts, keyType, key } : { line, hosts, keyType, key });
  }
  return { entries, skipped };
}

function parseHostField(text: string): HostField | undefined {
  if (!text.startsWith('|')) return { kind: 'patterns', patterns: text.split(',').filter((p) => p !== '') };
  const parts = text.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return undefined;
  const salt = decodeBase64Strict(parts[2] ?? '');
  const hash = decodeBase64Strict(parts[3] ?? '');
  if (!salt || !hash || hash.length !== 20) return undefined;
  return { kind: 'hashed', salt, hash };
}

function decodeBase64Strict(text: string): Buffer | undefined {
  if (text === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  return buf.length > 0 ? buf : undefined;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** Like `ssh-keygen -l`: "SHA256:" + unpadded base64 of the blob's SHA-256. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The name OpenSSH looks up and writes: `host`, or `[host]:port` for ports other than 22. */
export function hostLookupName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** OpenSSH's match_pattern: `*` any run of characters, `?` exactly one; whole string, no case. */
export function matchPattern(name: string, pattern: string): boolean {
  const n = name.toLowerCase();
  const p = pattern.toLowerCase();
  // Iterative glob match with single-star backtracking: linear enough for host names.
  let ni = 0;
  let pi = 0;
  let starP = -1;
  let starN = 0;
  while (ni < n.length) {
    const pc = p[pi];
    if (pc === '*') {
      starP = pi++;
      starN = ni;
    } else if (pc !== undefined && (pc === '?' || pc === n[ni])) {
      pi++;
      ni++;
    } else if (starP >= 0) {
      pi = starP + 1;
      ni = ++starN;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** Whether an entry's host field names `name` (already in hostLookupName form). */
export function hostFieldMatches(field: HostField, name: string): boolean {
  if (field.kind === 'hashed') {
    const digest = createHmac('sha1', field.salt).update(name).digest();
    return digest.length === field.hash.length && timingSafeEqual(digest, field.hash);
  }
  let positive = false;
  for (const raw of field.patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!matchPattern(name, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  /** Known with this key type but another key (sameType), or known only with other key types. */
  | { status: 'changed'; sameType: boolean; entries: KnownHostEntry[] }
  /** certAuthorityOnly: the host matched only @cert-authority lines, which kubemend does not support. */
  | { status: 'unknown'; certAuthorityOnly: boolean };

export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  blob: Buffer,
): HostKeyCheck {
  return checkPresentedKey(entries, host, port, {
    keyType: keyTypeOfBlob(blob),
    sameKey: (key) => key.equals(blob),
  });
}

/** The fingerprint form, for a key known only by what OpenSSH logged ("Server host key: TYPE SHA256:…"). */
export function checkKeyFingerprint(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  keyType: string,
  fingerprint: string,
): HostKeyCheck {
  return checkPresentedKey(entries, host, port, {
    keyType,
    sameKey: (key) => fingerprintSha256(key) === fingerprint,
  });
}

function checkPresentedKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  presented: { keyType: string | undefined; sameKey: (key: Buffer) => boolean },
): HostKeyCheck {
  const name = hostLookupName(host, port);
  const keyType = presented.keyType;
  const matching = entries.filter((e) => hostFieldMatches(e.hosts, name));
  const sameKey = (e: KnownHostEntry): boolean => e.keyType === keyType && presented.sameKey(e.key);

  const revoked = matching.find((e) => e.marker === 'revoked' && sameKey(e));
  if (revoked) return { status: 'revoked', entry: revoked };

  const plain = matching.filter((e) => e.marker === undefined);
  const known = plain.find(sameKey);
  if (known) return { status: 'known', entry: known };
  if (plain.length > 0) {
    const sameType = plain.filter((e) => e.keyType === keyType);
    return sameType.length > 0
      ? { status: 'changed', sameType: true, entries: sameType }
      : { status: 'changed', sameType: false, entries: plain };
  }
  return { status: 'unknown', certAuthorityOnly: matching.some((e) => e.marker === 'cert-authority') };
}

/** Key types on file for a host, in file order; used to ask the server for a key we can check. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = hostLookupName(host, port);
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker === undefined && !types.includes(e.keyType) && hostFieldMatches(e.hosts, name))
      types.push(e.keyType);
  }
  return types;
}

/** The line accept-new appends (without newline): `host keytype base64` or `[host]:port keytype base64`. */
export function knownHostsLine(host: string, port: number, blob: Buffer): string {
  const keyType = keyTypeOfBlob(blob);
  if (!keyType) throw new Error('not an SSH public key blob');
  return `${hostLookupName(host, port)} ${keyType} ${blob.toString('base64')}`;
}

/** The file's text, or '' when it does not exist yet. */
export async function readKnownHosts(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

// Parallel sessions share one known_hosts file (and often one jump host): appends are serialized
// per file in this process so lines never interleave and a key is not appended twice.
const appendQueues = new Map<string, Promise<unknown>>();

function serialized<T>(file: string, task: () => Promise<T>): Promise<T> {
  const key = resolve(file);
  const previous = appendQueues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  appendQueues.set(key, tail);
  void tail.then(() => {
    if (appendQueues.get(key) === tail) appendQueues.delete(key);
  });
  return run;
}

export type AppendOutcome = { status: 'added'; line: number } | Exclude<HostKeyCheck, { status: 'unknown' }>;

/**
 * accept-new: under the per-file lock, re-read the file (another session may have added this host
 * meanwhile) and append `host keytype base64` if the host is still unknown. Creates the directory
 * (0700) and file (0600) when missing. The line goes out in one write on an O_APPEND descriptor.
 */
export function appendKnownHost(
  file: string,
  host: string,
  port: number,
  blob: Buffer,
): Promise<AppendOutcome> {
  return serialized(file, async () => {
    const text = await readKnownHosts(file);
    const check = checkHostKey(parseKnownHosts(text).entries, host, port, blob);
    if (check.status !== 'unknown') return check;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const prefix = text === '' || text.endsWith('\n') ? '' : '\n';
    const handle = await open(file, 'a', 0o600);
    try {
      await handle.write(`${prefix}${knownHostsLine(host, port, blob)}\n`);
    } finally {
      await handle.close();
    }
    const linesBefore = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    return { status: 'added', line: linesBefore + 1 };
  });
}
