import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../support/cli.js';

// 127.0.0.1:1 refuses at once: the node "down" cannot be reached by any command.
const dir = mkdtempSync(join(tmpdir(), 'kubemend-error-lines-'));
const inv = join(dir, 'inv.yaml');
const cli = cliRunner({ HOME: dir, PATH: process.env['PATH'] ?? '/usr/bin:/bin' });
beforeAll(() => writeFileSync(inv, 'nodes:\n  down: { host: 127.0.0.1, port: 1 }\n'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every error line names its node and goes to stderr', () => {
  it.each([
    'audit',
    'audit -o json',
    'plan',
    'plan -o markdown',
    'apply --yes',
    'apply --yes -o json',
    'rollback --node down --yes',
    'backups --node down',
  ])('%s: exit 3, "error: down: …" on stderr, no error line on stdout', async (line) => {
    const args = line.split(' ');
    const r = await cli(...args, '-i', inv, '--journal', join(dir, 'journal.jsonl'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: down: connect ECONNREFUSED 127\.0\.0\.1:1/m);
    expect(r.stdout).not.toMatch(/^error:/m);
    expect(r.stdout).not.toMatch(/: error: /);
  });
});
