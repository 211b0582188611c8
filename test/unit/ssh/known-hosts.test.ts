import { execFile } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostFieldMatches,
  hostLookupName,
  keyTypeOfBlob,
  knownHostsLine,
  knownKeyTypes,
  matchPattern,
  parseKnownHosts,
} from '../../../src/node/ssh/known-hosts.js';
import { hashKnownHosts, keygen, tempDir } from './helpers.js';
import type { KeyPair } from './helpers.js';

const run = promisify(execFile);

let dir: string;
let ed: KeyPair;
let ed2: KeyPair;
let ecdsa: KeyPair;
let rsa: KeyPair;

beforeAll(async () => {
  dir = await tempDir('kubemend-kh-');
  [ed, ed2, ecdsa, rsa] = await Promise.all([
    keygen(dir, 'ed', 'ed25519'),
    keygen(dir, 'ed2', 'ed25519'),
    keygen(dir, 'ecdsa', 'ecdsa'),
    keygen(dir, 'rsa', 'rsa'),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (k: KeyPair): string => k.blob.toString('base64');
const entries = (text: string) => parseKnownHosts(text).entries;

describe('parseKnownHosts', () => {
  it('reads plain, marked and hashed lines, skipping comments, blanks and junk with line numbers', () => {
    const text = [
      '# a comment',
      '',
      `host1,10.0.0.1 ${ed.type} ${b64(ed)} comment words`,
      `  @revoked * ${ecdsa.type} ${b64(ecdsa)}`,
      `@cert-authority *.example.com ${rsa.type} ${b64(rsa)}`,
      `|1|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=|AAAAAAAAAAAAAAAAAAAAAAAAAAA= ${ed.type} ${b64(ed)}`,
      'garbage-line-without-key',
      `host2 ssh-rsa ${b64(ed)}`, // type field does not match the blob
      `@bogus host3 ${ed.type} ${b64(ed)}`,
      'host4 2048 65537 1234567', // SSH-1 style
      '\t',
    ].join('\n');
    const parsed = parseKnownHosts(text);
    expect(parsed.entries.map((e) => [e.line, e.marker, e.hosts.kind, e.keyType])).toEqual([
      [3, undefined, 'patterns', 'ssh-ed25519'],
      [4, 'revoked', 'patterns', 'ecdsa-sha2-nistp256'],
      [5, 'cert-authority', 'patterns', 'ssh-rsa'],
      [6, undefined, 'hashed', 'ssh-ed25519'],
    ]);
    expect(parsed.skipped.map((s) => s.line)).toEqual([7, 8, 9, 10]);
    expect(parsed.entries[0]!.hosts).toEqual({ kind: 'patterns', patterns: ['host1', '10.0.0.1'] });
  });

  it('a fleet-sized file is parsed once and shared (frozen) by every node that reads it (issue 23)', () => {
    const text = Array.from(
      { length: 5000 },
      (_, i) => `10.1.${i >> 8}.${i & 255} ${ed.type} ${b64(ed)}`,
    ).join('\n');
    const first = parseKnownHosts(text);
    const again = parseKnownHosts(`${text.slice(0, 10)}${text.slice(10)}`);
    expect(again).toBe(first);
    expect(first.entries).toHaveLength(5000);
    expect(Object.isFrozen(first.entries)).toBe(true);
    expect(parseKnownHosts(`${text}\nh ${ed.type} ${b64(ed)}`).entries).toHaveLength(5001);
  });

  it('accepts CRLF line endings', () => {
    const parsed = parseKnownHosts(`h ${ed.type} ${b64(ed)}\r\nh2 ${ed.type} ${b64(ed)}\r\n`);
    expect(parsed.entries).toHaveLength(2);
  });
});

describe('key helpers', () => {
  it('reads the key type inside a blob', () => {
    expect(keyTypeOfBlob(ed.blob)).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOfBlob(Buffer.from([0, 0]))).toBeUndefined();
  });

  it('prints fingerprints exactly like ssh-keygen -l', async () => {
    for (const k of [ed, ecdsa, rsa]) {
      const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${k.file}.pub`]);
      expect(stdout.split(' ')[1]).toBe(fingerprintSha256(k.blob));
    }
  });

  it('formats lookup names and appended lines as OpenSSH does', () => {
    expect(hostLookupName('Node.Example.COM', 22)).toBe('node.example.com');
    expect(hostLookupName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
    expect(knownHostsLine('10.0.0.1', 22, ed.blob)).toBe(`10.0.0.1 ssh-ed25519 ${b64(ed)}`);
    expect(knownHostsLine('10.0.0.1', 2222, ed.blob)).toBe(`[10.0.0.1]:2222 ssh-ed25519 ${b64(ed)}`);
  });
});

describe('host patterns', () => {
  it('matches * and ? over the whole name, case-insensitively', () => {
    expect(matchPattern('web1.example.com', '*.example.com')).toBe(true);
    expect(matchPattern('example.com', '*.example.com')).toBe(false);
    expect(matchPattern('web1.example.com', 'web?.example.com')).toBe(true);
    expect(matchPattern('web12.example.com', 'web?.example.com')).toBe(false);
    expect(matchPattern('WEB1.example.com', 'web1.EXAMPLE.com')).toBe(true);
    expect(matchPattern('10.0.0.1', '10.0.0.*')).toBe(true);
    expect(matchPattern('10.0.0.1', '10.0.0.1*')).toBe(true);
    expect(matchPattern('10.0.0.10', '10.0.0.1')).toBe(false);
    expect(matchPattern('[10.0.0.1]:2222', '[10.0.0.1]:*')).toBe(true);
    expect(matchPattern('abc', '*a*b*c*')).toBe(true);
    expect(matchPattern('acb', '*a*b*c*')).toBe(false);
  });

  it('lets a negated pattern exclude the whole line', () => {
    const field = { kind: 'patterns' as const, patterns: ['*.example.com', '!bad.example.com'] };
    expect(hostFieldMatches(field, 'good.example.com')).toBe(true);
    expect(hostFieldMatches(field, 'bad.example.com')).toBe(false);
    expect(hostFieldMatches({ kind: 'patterns', patterns: ['!bad'] }, 'other')).toBe(false);
  });
});

describe('checkHostKey', () => {
  it('finds a key in a comma list; port 22 entries do not cover other ports', () => {
    const list = entries(`a.example,10.0.0.5 ${ed.type} ${b64(ed)}\n`);
    expect(checkHostKey(list, '10.0.0.5', 22, ed.blob)).toMatchObject({
      status: 'known',
      entry: { line: 1 },
    });
    expect(checkHostKey(list, 'A.EXAMPLE', 22, ed.blob).status).toBe('known');
    expect(checkHostKey(list, '10.0.0.5', 2222, ed.blob)).toEqual({
      status: 'unknown',
      certAuthorityOnly: false,
    });
  });

  it('uses the [host]:port form for other ports', () => {
    const list = entries(`[10.0.0.5]:2222 ${ed.type} ${b64(ed)}\n`);
    expect(checkHostKey(list, '10.0.0.5', 2222, ed.blob).status).toBe('known');
    expect(checkHostKey(list, '10.0.0.5', 22, ed.blob).status).toBe('unknown');
    expect(checkHostKey(list, '10.0.0.5', 2223, ed.blob).status).toBe('unknown');
  });

  it('matches hashed entries written by ssh-keygen -H, including [host]:port ones', async () => {
    const hashed = await hashKnownHosts(
      dir,
      `node-a.example.com ${ed.type} ${b64(ed)}\n[10.1.2.3]:2200 ${ecdsa.type} ${b64(ecdsa)}\n`,
    );
    expect(hashed).not.toContain('example.com');
    expect(hashed.split('\n')[0]).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    const list = entries(hashed);
    expect(list.map((e) => e.hosts.kind)).toEqual(['hashed', 'hashed']);
    expect(checkHostKey(list, 'node-a.example.com', 22, ed.blob).status).toBe('known');
    expect(checkHostKey(list, 'NODE-A.example.com', 22, ed.blob).status).toBe('known');
    expect(checkHostKey(list, 'node-b.example.com', 22, ed.blob).status).toBe('unknown');
    expect(checkHostKey(list, '10.1.2.3', 2200, ecdsa.blob).status).toBe('known');
    expect(checkHostKey(list, '10.1.2.3', 22, ecdsa.blob).status).toBe('unknown');
    expect(checkHostKey(list, 'node-a.example.com', 22, ed2.blob)).toMatchObject({
      status: 'changed',
      sameType: true,
    });
  });

  it('reports a changed key of the same type with the offending lines', () => {
    const text = `# header\nother ${ed.type} ${b64(ed2)}\nnode ${ed.type} ${b64(ed)}\n`;
    const check = checkHostKey(entries(text), 'node', 22, ed2.blob);
    expect(check).toMatchObject({ status: 'changed', sameType: true });
    expect(check.status === 'changed' && check.entries.map((e) => e.line)).toEqual([3]);
  });

  it('treats a host known only with other key types as changed', () => {
    const text = `node ${rsa.type} ${b64(rsa)}\nnode ${ecdsa.type} ${b64(ecdsa)}\n`;
    const check = checkHostKey(entries(text), 'node', 22, ed.blob);
    expect(check).toMatchObject({ status: 'changed', sameType: false });
    expect(check.status === 'changed' && check.entries.map((e) => e.line)).toEqual([1, 2]);
  });

  it('accepts any of several keys on file for the host', () => {
    const text = `node ${ed.type} ${b64(ed2)}\nnode ${ed.type} ${b64(ed)}\nnode ${rsa.type} ${b64(rsa)}\n`;
    expect(checkHostKey(entries(text), 'node', 22, ed.blob)).toMatchObject({
      status: 'known',
      entry: { line: 2 },
    });
    expect(checkHostKey(entries(text), 'node', 22, rsa.blob).status).toBe('known');
  });

  it('rejects a @revoked key even when it is also listed as known', () => {
    const text = `node ${ed.type} ${b64(ed)}\n@revoked * ${ed.type} ${b64(ed)}\n`;
    expect(checkHostKey(entries(text), 'node', 22, ed.blob)).toMatchObject({
      status: 'revoked',
      entry: { line: 2 },
    });
    // A revoked line for another key does not matter.
    const other = `node ${ed.type} ${b64(ed)}\n@revoked * ${ed.type} ${b64(ed2)}\n`;
    expect(checkHostKey(entries(other), 'node', 22, ed.blob).status).toBe('known');
  });

  it('ignores @cert-authority lines but says when they were the only match', () => {
    const ca = `@cert-authority *.example.com ${ed.type} ${b64(ed2)}\n`;
    expect(checkHostKey(entries(ca), 'n.example.com', 22, ed.blob)).toEqual({
      status: 'unknown',
      certAuthorityOnly: true,
    });
    const both = `${ca}n.example.com ${ed.type} ${b64(ed)}\n`;
    expect(checkHostKey(entries(both), 'n.example.com', 22, ed.blob).status).toBe('known');
  });

  it('respects negation when deciding which lines speak for the host', () => {
    const text = `*.example.com,!bad.example.com ${ed.type} ${b64(ed)}\n`;
    expect(checkHostKey(entries(text), 'good.example.com', 22, ed.blob).status).toBe('known');
    expect(checkHostKey(entries(text), 'bad.example.com', 22, ed2.blob).status).toBe('unknown');
  });

  it('lists the key types on file for a host, for algorithm preference', () => {
    const text = `node ${rsa.type} ${b64(rsa)}\n*.x ${ed.type} ${b64(ed)}\nnode ${rsa.type} ${b64(rsa)}\n@revoked node ${ecdsa.type} ${b64(ecdsa)}\n`;
    expect(knownKeyTypes(entries(text), 'node', 22)).toEqual(['ssh-rsa']);
    expect(knownKeyTypes(entries(text), 'a.x', 22)).toEqual(['ssh-ed25519']);
  });
});

describe('appendKnownHost', () => {
  it('creates the directory (0700) and the file (0600) and appends one line', async () => {
    const file = join(dir, 'fresh', 'sub', 'known_hosts');
    await expect(appendKnownHost(file, '10.0.0.9', 2222, ed.blob)).resolves.toEqual({
      status: 'added',
      line: 1,
    });
    expect(await readFile(file, 'utf8')).toBe(`[10.0.0.9]:2222 ssh-ed25519 ${b64(ed)}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'fresh', 'sub'))).mode & 0o777).toBe(0o700);
  });

  it('adds a newline when the file does not end with one, and reports the new line number', async () => {
    const file = join(dir, 'no-newline');
    await writeFile(file, `# first\nother ${ed.type} ${b64(ed2)}`);
    await expect(appendKnownHost(file, 'node', 22, ed.blob)).resolves.toEqual({ status: 'added', line: 3 });
    expect(await readFile(file, 'utf8')).toBe(
      `# first\nother ${ed.type} ${b64(ed2)}\nnode ssh-ed25519 ${b64(ed)}\n`,
    );
  });

  it('serializes concurrent appends: whole lines, each host once', async () => {
    const file = join(dir, 'concurrent');
    const keys = [ed, ed2, ecdsa, rsa];
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        appendKnownHost(file, `host${i % 10}`, 22, keys[i % 10 < 5 ? 0 : 1]!.blob),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'added')).toHaveLength(10);
    expect(outcomes.filter((o) => o.status === 'known')).toHaveLength(30);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(new Set(lines.map((l) => l.split(' ')[0]))).toEqual(
      new Set(Array.from({ length: 10 }, (_, i) => `host${i}`)),
    );
    for (const l of lines) expect(l).toMatch(/^host\d ssh-ed25519 [A-Za-z0-9+/=]+$/);
  });

  it('does not append over a key that changed meanwhile', async () => {
    const file = join(dir, 'raced');
    await writeFile(file, `node ${ed.type} ${b64(ed2)}\n`);
    await expect(appendKnownHost(file, 'node', 22, ed.blob)).resolves.toMatchObject({ status: 'changed' });
    expect(await readFile(file, 'utf8')).toBe(`node ${ed.type} ${b64(ed2)}\n`);
  });
});
