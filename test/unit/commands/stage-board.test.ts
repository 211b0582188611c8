import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Io } from '../../../src/commands/io.js';
import { Progress } from '../../../src/commands/progress.js';
import { StageBoard } from '../../../src/commands/stage-board.js';
import { boardLine } from '../../../src/report/board-line.js';
import { CLEAR, CLIPBOARD, RLO, TITLE } from '../support/hostile-text.js';

/** What a terminal of `columns` shows after `out` was written to it: cursor-up, erase and \r applied. */
function screen(out: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  // eslint-disable-next-line no-control-regex
  for (const m of out.matchAll(/\x1b\[(\d*)([AJK])|\r|\n|[^\x1b\r\n]+/g)) {
    const t = m[0];
    if (m[2] === 'A') row = Math.max(0, row - Number(m[1] || 1));
    else if (m[2] === 'J') {
      rows.length = row + 1; // erase to the end of the screen
      rows[row] = '';
    } else if (m[2] === 'K') rows[row] = '';
    else if (t === '\r') continue;
    else if (t === '\n') {
      row++;
      rows[row] ??= '';
    } else rows[row] = t;
  }
  return rows.filter((r) => r !== '');
}

function tty(columns = 100) {
  let out = '';
  let now = 0;
  const io: Io = {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (out += s), isTTY: true, columns },
    stdinIsTTY: true,
    env: {},
    now: () => new Date(now),
    interrupted: () => false,
  };
  return { io, out: () => out, advance: (ms: number) => (now += ms), clock: () => now };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the live stage board', () => {
  it("shows each node in flight with its stage; a gate's line counts up towards its timeout while it waits", () => {
    vi.useFakeTimers();
    const t = tty();
    const board = new StageBoard(t.io, t.clock);
    board.update('cp-1', 'write');
    board.update('w-1', 'restart: kubelet');
    board.update('cp-1', 'health: kube-apiserver /livez', { timeoutSec: 180 });
    t.advance(12_000);
    vi.advanceTimersByTime(300);
    let rows = screen(t.out());
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/cp-1 {2}health: kube-apiserver \/livez · 12 s of 180 s$/);
    expect(rows[1]).toMatch(/w-1 {3}restart: kubelet · 12 s$/);
    t.advance(1_000);
    vi.advanceTimersByTime(300);
    expect(screen(t.out())[0]).toMatch(/· 13 s of 180 s$/);

    board.finish('cp-1', '✔ cp-1: applied, healthy and re-audited');
    rows = screen(t.out());
    expect(rows).toEqual([
      '✔ cp-1: applied, healthy and re-audited',
      expect.stringMatching(/w-1 {2}restart: kubelet/),
    ]);
    board.finish('w-1', '↺ w-1: rolled back');
    expect(screen(t.out())).toEqual(['✔ cp-1: applied, healthy and re-audited', '↺ w-1: rolled back']);
    expect([...board.shown]).toEqual(['cp-1', 'w-1']);
    // A batch that ends with a node still on the board (nothing to report for it) erases its line.
    board.update('w-2', 'lock');
    board.endBatch();
    expect(screen(t.out())).toEqual(['✔ cp-1: applied, healthy and re-audited', '↺ w-1: rolled back']);
  });

  it('never draws a line wider than the terminal', () => {
    const line = boardLine(
      { node: 'cp-1', text: `health: ${'x'.repeat(200)}`, elapsedSec: 3, gate: { timeoutSec: 60 } },
      0,
      4,
      50,
    );
    expect([...line].length).toBeLessThan(50);
    expect(line.endsWith('…')).toBe(true);
  });

  it('without a terminal writes one timestamped line per stage and per result, nothing redrawn', () => {
    let out = '';
    const board = new StageBoard({
      stdout: { write: () => true },
      stderr: { write: (s: string) => (out += s) },
      stdinIsTTY: false,
      env: {},
      now: () => new Date('2026-11-22T03:00:00Z'),
      interrupted: () => false,
    });
    board.update('cp-1', 'health: kube-apiserver /livez', { timeoutSec: 180 });
    board.finish('cp-1', 'cp-1: applied');
    expect(out).toBe(
      '2026-11-22T03:00:00.000Z cp-1: health: kube-apiserver /livez (up to 180 s)\n2026-11-22T03:00:00.000Z cp-1: applied\n',
    );
    expect(board.shown.size).toBe(0);
  });
});

describe('node text on the board and the progress line', () => {
  it('a stage detail or an error with escape sequences is shown as text, live and in the plain log', () => {
    const live = tty();
    const board = new StageBoard(live.io, live.clock);
    board.update(`cp-1${RLO}`, `health: ${TITLE}${CLEAR}`);
    board.stop();
    const plain = tty();
    const log = new StageBoard({ ...plain.io, stderr: { write: plain.io.stderr.write } });
    log.update('cp-1', `restart: ${CLIPBOARD}\nkubemend: all healthy`);
    for (const out of [live.out(), plain.out()]) {
      for (const raw of [TITLE, CLEAR, CLIPBOARD, RLO]) expect(out).not.toContain(raw);
      expect(out).not.toMatch(/^kubemend: all healthy/m);
    }
    expect(screen(live.out())).toEqual([
      expect.stringContaining('cp-1\\u202e  health: \\x1b]0;pwned\\x07\\x1b[2J'),
    ]);
    expect(plain.out()).toContain('cp-1: restart: \\x1b]52;c;');
  });

  it('the audit progress line escapes node names and unreachable errors', () => {
    for (const isTTY of [true, false]) {
      const t = tty();
      const progress = new Progress(
        { ...t.io, stderr: { write: t.io.stderr.write, isTTY } },
        1,
        'auditing',
        true,
      );
      progress.start(`w-1${RLO}`);
      progress.finish(`w-1${RLO}`, `unreachable: ${TITLE}${CLEAR}`);
      progress.end();
      for (const raw of [TITLE, CLEAR, RLO]) expect(t.out()).not.toContain(raw);
      expect(t.out()).toContain('w-1\\u202e: unreachable: \\x1b]0;pwned\\x07\\x1b[2J');
    }
  });
});
