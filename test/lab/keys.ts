import { readFile } from 'node:fs/promises';
import { runOk } from './exec.js';

/** An ed25519 key pair made with ssh-keygen; returns the public key line ("ssh-ed25519 AAAA… comment"). */
export async function makeSshKey(path: string, comment: string): Promise<string> {
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return (await readFile(`${path}.pub`, 'utf8')).trim();
}

/** "ssh-ed25519 AAAA… comment" → "ssh-ed25519 AAAA…" (what a known_hosts line carries). */
export const keyTypeAndBlob = (pubLine: string): string => pubLine.split(/\s+/).slice(0, 2).join(' ');
