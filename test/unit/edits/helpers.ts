import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { CLIENT_CA_PURPOSE } from '../../../src/controls/kubelet-client-ca/plan.js';
import { renderKubeletDropIn, unifiedDiff } from '../../../src/edits/index.js';
import { KUBELET } from '../../../src/facts/kubelet-setting.js';

export const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
export const TEMPLATES = fileURLToPath(new URL('../../../templates/', import.meta.url));

export const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');
export const template = (name: string) => readFileSync(join(TEMPLATES, name), 'utf8');

/**
 * Compares with test/unit/edits/golden/<name>.golden byte for byte. The `.golden` suffix keeps
 * prettier away from them. Run with KUBEMEND_UPDATE_GOLDEN=1 to (re)write, then review each by eye.
 */
export function expectGolden(name: string, content: string): void {
  const file = join(GOLDEN, `${name}.golden`);
  if (process.env['KUBEMEND_UPDATE_GOLDEN'] === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  if (!existsSync(file))
    throw new Error(`missing golden file ${file}; run with KUBEMEND_UPDATE_GOLDEN=1 and review it`);
  expect(content).toBe(readFileSync(file, 'utf8'));
}

/** The lines a unified diff removes and adds (headers excluded). */
export function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  for (const line of unifiedDiff('n', '/f', before, after).split('\n')) {
    if (line.startsWith('---') || line.startsWith('+++')) continue;
    if (line.startsWith('-')) removed.push(line.slice(1));
    else if (line.startsWith('+')) added.push(line.slice(1));
  }
  return { removed, added };
}

/** Lines of `text` that contain `needle` (for "the diff touches only these" checks). */
export const linesWith = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle));

/** Removes every line containing one of `needles` (to make a fixture lose a setting). */
export const dropLines = (text: string, ...needles: string[]) =>
  text
    .split(/(?<=\n)/)
    .filter((l) => !needles.some((n) => l.includes(n)))
    .join('');

/**
 * Writes `files` (relative path → content) into a temp dir, applies the patch with `git apply`
 * (after `git apply --check`) or `patch -p1`, and returns the files at `paths` afterwards
 * (undefined for a file that does not exist).
 */
export function applyPatch(
  files: Record<string, string>,
  patch: string,
  paths: readonly string[],
  tool: 'git' | 'patch' = 'git',
): Record<string, string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'kubemend-edits-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    writeFileSync(join(dir, 'change.patch'), patch);
    if (tool === 'git') {
      execFileSync('git', ['apply', '--check', 'change.patch'], { cwd: dir, stdio: 'pipe' });
      execFileSync('git', ['apply', 'change.patch'], { cwd: dir, stdio: 'pipe' });
    } else {
      execFileSync('patch', ['-p1', '--quiet', '--batch', '-i', 'change.patch'], { cwd: dir, stdio: 'pipe' });
    }
    const out: Record<string, string | undefined> = {};
    for (const path of paths) {
      const full = join(dir, path);
      out[path] = existsSync(full) ? readFileSync(full, 'utf8') : undefined;
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The drop-in the kubelet-client-ca control creates: templates/kubelet.dropin.<format> with the client CA. */
export function clientCADropIn(
  ca: string,
  format: 'yaml' | 'json',
  text = template(`kubelet.dropin.${format}`),
): string {
  return renderKubeletDropIn(
    text,
    { path: KUBELET.clientCAFile.path, value: ca, expect: 'a file path' },
    CLIENT_CA_PURPOSE,
    format,
  );
}
