#!/usr/bin/env node
import { main } from './cli.js';
import { processIo } from './commands/io.js';

// The only place that touches process.argv and process.exit.
const code = await main(process.argv.slice(2), processIo());
process.exitCode = code;
