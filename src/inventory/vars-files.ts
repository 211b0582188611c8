import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Ansible's group_vars/ and host_vars/ beside the inventory file: `<name>`, `<name>.yml`,
 * `<name>.yaml`, `<name>.json`, or a `<name>/` directory of such files (read in sorted order).
 * Vault-encrypted files cannot be read and are skipped.
 */

export interface VarsFile {
  file: string;
  text: string;
}

export interface VarsFiles {
  groups: Map<string, VarsFile[]>;
  hosts: Map<string, VarsFile[]>;
}

const extensions = ['', '.yml', '.yaml', '.json'];

export async function readVarsFiles(inventoryFile: string): Promise<VarsFiles> {
  const dir = path.dirname(inventoryFile);
  return {
    groups: await readVarsDir(path.join(dir, 'group_vars')),
    hosts: await readVarsDir(path.join(dir, 'host_vars')),
  };
}

async function readVarsDir(dir: string): Promise<Map<string, VarsFile[]>> {
  const result = new Map<string, VarsFile[]>();
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const files = await readTree(full);
      if (files.length > 0) result.set(entry.name, [...(result.get(entry.name) ?? []), ...files]);
      continue;
    }
    const extension = path.extname(entry.name);
    if (!extensions.includes(extension)) continue;
    const file = await readVarsFile(full);
    const name = entry.name.slice(0, entry.name.length - extension.length);
    if (file) result.set(name, [...(result.get(name) ?? []), file]);
  }
  return result;
}

async function readTree(dir: string): Promise<VarsFile[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: VarsFile[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await readTree(full)));
    else if (extensions.includes(path.extname(entry.name))) {
      const file = await readVarsFile(full);
      if (file) files.push(file);
    }
  }
  return files;
}

async function readVarsFile(file: string): Promise<VarsFile | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined || text.startsWith('$ANSIBLE_VAULT')) return undefined;
  return { file, text };
}
