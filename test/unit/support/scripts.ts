import { scriptText, type ScriptName } from '../../../src/node/remote.js';
import { shQuote } from '../../../src/node/ssh/shell.js';

export const SCRIPTS: ScriptName[] = [
  'apiserver-state',
  'backup',
  'gather',
  'inflight-clear',
  'inflight-read',
  'inflight-write',
  'issue-cert',
  'journal-append',
  'kubelet-journal',
  'kubelet-state',
  'list-backups',
  'lock',
  'lock-owner',
  'metadata-write',
  'node-time',
  'read-file',
  'restart-kubelet',
  'restore',
  'write-file',
];

/** Which script a command line runs, and its arguments (the inverse of scriptCommand). */
export function decode(command: string): { name: ScriptName; args: string[] } {
  for (const name of SCRIPTS) {
    const head = `sh -c ${shQuote(scriptText(name))} kubemend-${name}`;
    if (!command.startsWith(head)) continue;
    const args = [...command.slice(head.length).matchAll(/ '((?:[^']|'\\'')*)'/g)].map((m) =>
      (m[1] ?? '').replaceAll("'\\''", "'"),
    );
    return { name, args };
  }
  throw new Error(`not a kubemend script: ${command.slice(0, 80)}`);
}
