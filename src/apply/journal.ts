import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

/** Default journal: $XDG_STATE_HOME/kubemend/journal.jsonl (~/.local/state/kubemend/journal.jsonl). */
export function defaultJournalPath(env: NodeJS.ProcessEnv): string {
  const state = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  return join(state, 'kubemend', 'journal.jsonl');
}

export interface JournalEvent {
  runId: string;
  node?: string;
  event: string;
  [key: string]: unknown;
}

/** Appends every action as one JSON line; a record that cannot be written stops the run before any change. */
export class Journal {
  constructor(
    readonly path: string,
    private readonly now: () => Date,
  ) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      appendFileSync(path, '', { mode: 0o600 });
    } catch (e) {
      throw new UsageError(
        `cannot write the journal ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        ['give a writable file with --journal FILE'],
      );
    }
  }

  line(e: JournalEvent): string {
    return JSON.stringify({ time: this.now().toISOString(), ...e });
  }

  write(e: JournalEvent): string {
    const line = this.line(e);
    appendFileSync(this.path, line + '\n');
    return line;
  }
}
