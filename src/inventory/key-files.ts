/**
 * Private key files the inventory names must be there and readable before any node is contacted
 * (exit 2): found only at connect time, a typo was an authentication failure on every node. Only
 * keys the inventory names count: ssh's default ~/.ssh/id_* keys are tried when present, and an
 * IdentityFile in ~/.ssh/config that is missing is skipped by OpenSSH itself, so kubemend does too.
 */
import { open } from 'node:fs/promises';
import type { NodeSpec } from './fields.js';
import type { Problems } from './problems.js';

/** Why the file cannot be used as a key, or undefined when it can be read. */
async function unreadable(file: string): Promise<string | undefined> {
  try {
    const handle = await open(file, 'r');
    try {
      await handle.read(Buffer.alloc(1), 0, 1, 0);
      return undefined;
    } finally {
      await handle.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    if (code === 'EISDIR') return 'is a directory';
    if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
    return `cannot be read (${code ?? (e as Error).message})`;
  }
}

interface Use {
  file: string;
  line: number;
  key: string;
  path: string;
  nodes: string[];
}

/** Adds one problem per key file the inventory names that is missing or unreadable, naming its nodes. */
export async function checkKeyFiles(specs: readonly NodeSpec[], problems: Problems): Promise<void> {
  const uses = new Map<string, Use>();
  const note = (use: Omit<Use, 'nodes'>, node: string): void => {
    const id = `${use.file}\0${use.line}\0${use.path}`;
    const seen = uses.get(id) ?? { ...use, nodes: [] };
    seen.nodes.push(node);
    uses.set(id, seen);
  };
  for (const spec of specs) {
    const own = spec.fields.identityFile;
    if (own)
      note({ file: own.file, line: own.line, key: own.key ?? 'identityFile', path: own.value }, spec.name);
    const jump = spec.fields.proxyJump;
    for (const hop of jump?.value ?? [])
      if (hop.identityFile !== undefined)
        note(
          { file: jump!.file, line: jump!.line, key: `the -i of its ProxyCommand`, path: hop.identityFile },
          spec.name,
        );
  }
  for (const use of uses.values()) {
    const why = await unreadable(use.path);
    if (!why) continue;
    const shown = use.nodes.slice(0, 5).map((n) => `'${n}'`);
    const more = use.nodes.length > 5 ? ` and ${use.nodes.length - 5} more` : '';
    problems.add(
      use.file,
      use.line,
      `${use.nodes.length > 1 ? 'nodes' : 'node'} ${shown.join(', ')}${more}: ${use.key} ${use.path} ${why}`,
      'fix the path, or leave the key file out to use ssh-agent and the default ~/.ssh/id_* keys',
    );
  }
}
