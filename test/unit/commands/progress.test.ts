import { describe, expect, it } from 'vitest';
import type { Io } from '../../../src/commands/io.js';
import { Progress } from '../../../src/commands/progress.js';

function terminal() {
  let out = '';
  const io: Io = {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (out += s), isTTY: true, columns: 120 },
    stdinIsTTY: true,
    env: {},
    now: () => new Date(0),
    interrupted: () => false,
  };
  // The status line as last drawn: what follows the last erase-line.
  return { io, line: () => out.slice(out.lastIndexOf('\x1b[K') + 3) };
}

describe('progress line on a terminal', () => {
  it('counts nodes in thousands and the nodes that could not be read: "1,240 of 5,000 nodes, 3 errors"', () => {
    const t = terminal();
    const p = new Progress(t.io, 5000, 'auditing', false);
    for (let i = 0; i < 1240; i++) {
      p.start(`n-${i}`);
      p.finish(`n-${i}`, 'read', i % 500 === 7);
    }
    expect(t.line()).toBe('auditing 1,240 of 5,000 nodes, 3 errors');
    p.start('n-1240');
    expect(t.line()).toBe('auditing 1,240 of 5,000 nodes, 3 errors (n-1240)');
  });

  it('says nothing about errors while there are none', () => {
    const t = terminal();
    const p = new Progress(t.io, 2, 'planning', false);
    p.start('a');
    p.finish('a', 'read');
    expect(t.line()).toBe('planning 1 of 2 nodes');
  });
});
