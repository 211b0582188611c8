#!/usr/bin/env node
// First: before the other modules run (see the file).
import './young-generation.js';
import { commandWord, main } from './cli.js';
import { processIo } from './commands/io.js';

// The only place that touches process.argv, signals and the exit code.
const args = process.argv.slice(2);
// `kubemend … | head`: a closed pipe ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
// Read-only commands stop at once on Ctrl-C; commands that change nodes must not stop mid-write.
const command = commandWord(args);
// The session only reads nodes until it starts applying (io.changing()).
let changesNodes = command === 'apply' || command === 'rollback';
let interrupts = 0;
// Ctrl-C, a `kill` or a job timeout (SIGTERM), a closed terminal (SIGHUP): the same stop, exit 130.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    interrupts++;
    // A hung-up terminal takes no more output.
    const say = (text: string) => signal !== 'SIGHUP' && process.stderr.write(text);
    if (!changesNodes) {
      if (command === undefined) say('\nCancelled: no node was changed.\n');
      process.exit(130);
    }
    // Never die mid-write: the node in flight finishes or rolls back, and nothing new starts.
    say(
      interrupts === 1
        ? `\nkubemend: ${signal === 'SIGINT' ? 'interrupted' : `${signal} received`}: finishing the node in flight (or rolling it back); no other node will start\n`
        : '\nkubemend: still finishing the node in flight; it is not safe to stop in the middle of a write\n',
    );
  });
const code = await main(args, {
  ...processIo(() => interrupts > 0),
  changing: () => {
    changesNodes = true;
  },
});
process.exitCode = code;
