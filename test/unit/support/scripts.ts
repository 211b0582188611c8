import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scriptEnv, scriptText, type ScriptName } from '../../../src/node/remote.js';
import { shQuote } from '../../../src/node/ssh/shell.js';

/** Every script kubemend ships, read from the folder so that a new script cannot be missed. */
export const SCRIPTS: ScriptName[] = readdirSync(
  fileURLToPath(new URL('../../../src/node/scripts/', import.meta.url)),
)
  // scripts/lib/ holds libraries the scripts include (src/node/remote.ts), never run alone.
  .filter((f) => f.endsWith('.sh'))
  .map((f) => f.slice(0, -3) as ScriptName);

/** Which script a command line runs, and its arguments (the inverse of scriptCommand). */
export function decode(command: string): { name: ScriptName; args: string[] } {
  for (const name of SCRIPTS) {
    const env = Object.entries(scriptEnv(name)).map(([k, v]) => `${k}=${shQuote(v)} `);
    const head = `${env.join('')}sh -c ${shQuote(scriptText(name))} kubemend-${name}`;
    if (!command.startsWith(head)) continue;
    const args = [...command.slice(head.length).matchAll(/ '((?:[^']|'\\'')*)'/g)].map((m) =>
      (m[1] ?? '').replaceAll("'\\''", "'"),
    );
    return { name, args };
  }
  throw new Error(`not a kubemend script: ${command.slice(0, 80)}`);
}
