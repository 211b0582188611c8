import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, expect } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { loadInventory } from '../../../src/inventory/load.js';
import type { LoadOptions } from '../../../src/inventory/load.js';
import type { NodeTarget } from '../../../src/inventory/types.js';

/** Inline YAML: drops the first newline and the common indentation, so line 1 is the first line written. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const indents = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => /^ */.exec(line)?.[0].length ?? 0);
  const strip = Math.min(...indents);
  return text
    .split('\n')
    .map((line) => line.slice(strip))
    .join('\n')
    .replace(/[ ]+$/, '');
}

const created: string[] = [];
afterEach(async () => {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
});

export interface Workspace {
  dir: string;
  home: string;
  /** Absolute path of a file in the workspace. */
  file(name: string): string;
  write(name: string, text: string): Promise<string>;
  /** Writes ~/.ssh/config (or another file under ~/.ssh). */
  sshConfig(text: string, name?: string): Promise<string>;
  load(name?: string, opts?: LoadOptions): Promise<NodeTarget[]>;
  /** Loads an inventory that must fail; returns what the user sees. */
  fail(name?: string, opts?: LoadOptions): Promise<{ message: string; details: readonly string[] }>;
}

/** A temp dir with an inventory folder and a fake home (with .ssh), removed after each test. */
export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubemend-inventory-'));
  created.push(dir);
  const home = path.join(dir, 'home');
  await mkdir(path.join(home, '.ssh'), { recursive: true });
  const file = (name: string): string => path.join(dir, name);
  const options = (opts: LoadOptions = {}): LoadOptions => ({
    homeDir: home,
    sshConfigPath: path.join(home, '.ssh', 'config'),
    ...opts,
  });
  const ws: Workspace = {
    dir,
    home,
    file,
    async write(name, text) {
      await mkdir(path.dirname(file(name)), { recursive: true });
      await writeFile(file(name), text);
      return file(name);
    },
    async sshConfig(text, name = 'config') {
      const target = path.join(home, '.ssh', name);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, text);
      return target;
    },
    load: (name = 'inventory.yaml', opts) => loadInventory(file(name), options(opts)),
    async fail(name = 'inventory.yaml', opts) {
      const error: unknown = await loadInventory(file(name), options(opts)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UsageError);
      const usage = error as UsageError;
      return { message: usage.message, details: usage.details };
    },
  };
  return ws;
}

export function byName(nodes: NodeTarget[], name: string): NodeTarget {
  const node = nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name} in ${nodes.map((n) => n.name).join(', ')}`);
  return node;
}
