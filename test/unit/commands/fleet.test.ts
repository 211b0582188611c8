import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGivenCertificates } from '../../../src/commands/fleet.js';
import { UsageError } from '../../../src/errors.js';
import { makePki, type TestPki } from '../support/certs.js';

let pki: TestPki;
let dir: string;
beforeAll(() => {
  pki = makePki();
  dir = mkdtempSync(join(tmpdir(), 'km-given-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const usage = (f: () => unknown): UsageError => {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('no error');
};

describe('--apiserver-kubelet-cert', () => {
  it('reads every certificate of a public PEM file', () => {
    const given = loadGivenCertificates(file('two.crt', pki.clientCrt + pki.foreignClientCrt));
    expect(given.map((g) => g.cert.subject)).toEqual([
      'O=kubeadm:cluster-admins\nCN=client',
      'O=kubeadm:cluster-admins\nCN=foreign',
    ]);
  });

  it('refuses a file with a private key in it: keys never travel', () => {
    const e = usage(() =>
      loadGivenCertificates(file('pair.pem', pki.foreignClientCrt + pki.foreignClientKey)),
    );
    expect(e.message).toMatch(/holds a private key$/);
    expect(e.details[0]).toMatch(/give only the public certificate/);
  });

  it('says what is wrong with a missing or empty file', () => {
    expect(usage(() => loadGivenCertificates(join(dir, 'nope.crt'))).message).toMatch(
      /cannot read .* ENOENT/,
    );
    expect(usage(() => loadGivenCertificates(file('empty.crt', 'hello\n'))).message).toMatch(
      /holds no PEM certificate/,
    );
  });
});
