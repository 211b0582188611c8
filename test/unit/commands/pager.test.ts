import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../../src/commands/io.js';
import { page } from '../../../src/commands/pager.js';

const dir = mkdtempSync(join(tmpdir(), 'kubemend-pager-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const long = Array.from({ length: 30 }, (_, k) => `line ${k}`).join('\n') + '\n';

function terminal(env: NodeJS.ProcessEnv) {
  let out = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s), isTTY: true, rows: 10 },
    stderr: { write: () => true },
    stdinIsTTY: true,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    now: () => new Date(),
    interrupted: () => false,
  };
  return { io, out: () => out };
}

describe('the pager for long diffs', () => {
  it('is KUBEMEND_PAGER before PAGER, and a line first says how to leave it', () => {
    const file = join(dir, 'kubemend-pager');
    const t = terminal({ KUBEMEND_PAGER: `sed 's/^/paged: /' > ${file}`, PAGER: 'false' });
    page(long, t.io, true);
    expect(readFileSync(file, 'utf8')).toContain('paged: line 29');
    expect(t.out()).toMatch(/^\(the diffs open in sed .*space shows more, q comes back to kubemend\)\n$/);
  });

  it('is PAGER when KUBEMEND_PAGER is unset', () => {
    const file = join(dir, 'pager');
    page(long, terminal({ PAGER: `cat > ${file}` }).io, true);
    expect(readFileSync(file, 'utf8')).toBe(long);
  });

  it('is not used with --no-pager, nor for text that fits the screen', () => {
    const file = join(dir, 'unused');
    const t = terminal({ KUBEMEND_PAGER: `cat > ${file}` });
    page(long, t.io, false);
    page('short\n', t.io, true);
    expect(t.out()).toBe(`${long}short\n`);
    expect(() => readFileSync(file)).toThrow();
  });
});
