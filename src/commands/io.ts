/** The outside world a command talks to, swappable in tests (STYLE.md: one interface per effect). */
export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  now(): Date;
  /** True once the user pressed Ctrl-C: long work finishes what is in flight and starts nothing new. */
  interrupted(): boolean;
  /** Called when the session starts changing nodes: from then on Ctrl-C must not stop it at once. */
  changing?(): void;
}

export function processIo(interrupted: () => boolean): Io {
  return {
    interrupted,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    now: () => new Date(),
  };
}

/** An Io that shows nothing and has no terminal: for reading a command line without running it. */
export const silentIo = (): Io => ({
  stdout: { write: () => true },
  stderr: { write: () => true },
  stdinIsTTY: false,
  env: {},
  now: () => new Date(),
  interrupted: () => false,
});

/** Colors on a terminal unless --no-color or NO_COLOR (https://no-color.org) say otherwise. */
export function wantColor(io: Io, stream: 'stdout' | 'stderr', noColorFlag: boolean): boolean {
  if (noColorFlag || (io.env['NO_COLOR'] !== undefined && io.env['NO_COLOR'] !== '')) return false;
  // A dumb terminal shows escape sequences as text.
  if (io.env['TERM'] === 'dumb') return false;
  return Boolean(io[stream].isTTY);
}
