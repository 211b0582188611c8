import { main } from '../../../src/cli.js';
import type { Io } from '../../../src/commands/io.js';

/** The CLI in-process, with captured output and no terminal, as CI runs it. */
export function cliRunner(env: NodeJS.ProcessEnv) {
  return async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const io: Io = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdinIsTTY: false,
      env,
      now: () => new Date('2026-11-22T03:00:00Z'),
      interrupted: () => false,
    };
    const code = await main(argv, io);
    return { code, stdout, stderr };
  };
}
