// Self-signed serving certificates, as both components make one when no certificate is
// configured. Node cannot sign certificates, so this uses the openssl command.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Writes `<dir>/<base>.crt` and `<dir>/<base>.key` (mode 0600 for the key) for `host`. */
export function writeSelfSigned(dir, base, host) {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${base}.crt`);
  const keyFile = path.join(dir, `${base}.key`);
  // The kubelet names its self-signed certificate "<host>@<unix time>".
  const subject = `/CN=${host}@${Math.floor(Date.now() / 1000)}`;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '365',
      '-subj',
      subject,
      '-addext',
      `subjectAltName=DNS:${host},DNS:localhost,IP:127.0.0.1`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  fs.chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}
