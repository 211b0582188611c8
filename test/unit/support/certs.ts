import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  caCrt: string;
  clientCrt: string;
  otherCaCrt: string;
  /** A client cert signed by the other CA, and its key (a kubelet client pair of another cluster). */
  foreignClientCrt: string;
  foreignClientKey: string;
  serverOnlyCrt: string;
}

/** Makes a small PKI with openssl once per test file: public certificates, and the foreign client's key. */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'kubemend-pki-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ca = (name: string) =>
      run(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '3650',
        '-subj',
        `/CN=${name}`,
      );
    ca('ca');
    ca('other-ca');
    const leaf = (name: string, signer: string, eku: string, days: string) => {
      run(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/O=kubeadm:cluster-admins/CN=${name}`,
      );
      writeFileSync(join(dir, `${name}.ext`), `extendedKeyUsage=${eku}\n`);
      run(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${signer}.crt`,
        '-CAkey',
        `${signer}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        days,
        '-extfile',
        `${name}.ext`,
      );
    };
    leaf('client', 'ca', 'clientAuth', '365');
    leaf('foreign', 'other-ca', 'clientAuth', '365');
    leaf('server', 'ca', 'serverAuth', '365');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return {
      caCrt: read('ca.crt'),
      clientCrt: read('client.crt'),
      otherCaCrt: read('other-ca.crt'),
      foreignClientCrt: read('foreign.crt'),
      foreignClientKey: read('foreign.key'),
      serverOnlyCrt: read('server.crt'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
