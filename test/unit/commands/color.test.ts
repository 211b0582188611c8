import { describe, expect, it } from 'vitest';
import { wantColor, type Io } from '../../../src/commands/io.js';

const io = (env: Record<string, string>, isTTY = true): Io => ({
  stdout: { write: () => true, isTTY },
  stderr: { write: () => true, isTTY },
  stdinIsTTY: isTTY,
  env,
  now: () => new Date(),
  interrupted: () => false,
});

describe('colour', () => {
  it('on a terminal unless --no-color, NO_COLOR or TERM=dumb; never into a pipe', () => {
    expect(wantColor(io({ TERM: 'xterm-256color' }), 'stdout', false)).toBe(true);
    expect(wantColor(io({ TERM: 'xterm-256color' }), 'stdout', true)).toBe(false);
    expect(wantColor(io({ TERM: 'xterm', NO_COLOR: '1' }), 'stdout', false)).toBe(false);
    expect(wantColor(io({ TERM: 'dumb' }), 'stdout', false)).toBe(false);
    expect(wantColor(io({ TERM: 'xterm' }, false), 'stdout', false)).toBe(false);
  });
});
