// "Lock, recover, release" (apply, the recovery pass and rollback all go through lockAndRecover).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/apply/journal.js';
import { lockAndRecover, nodeLog } from '../../../src/apply/locked.js';
import type { ExecResult, HeldCommand, NodeSession } from '../../../src/node/ssh/types.js';
import { decode } from '../support/scripts.js';

const dir = mkdtempSync(join(tmpdir(), 'km-locked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '', truncated: false });

/** A node whose lock answers `lockLine`; it records what ran and whether the lock is held. */
function fakeNode(lockLine: string) {
  const events: string[] = [];
  const session: NodeSession = {
    node: 'w1',
    hostKeyFingerprint: 'SHA256:fake',
    exec: (command) => {
      const { name } = decode(command);
      events.push(name);
      if (name === 'lock-owner')
        return Promise.resolve(
          ok(JSON.stringify({ runId: 'other-run', tool: 'kubemend 0.1.0', since: '2026-12-07T10:00:00Z' })),
        );
      return Promise.resolve(ok(''));
    },
    hold: (): Promise<HeldCommand> => {
      events.push('lock');
      return Promise.resolve({
        firstLine: lockLine,
        running: lockLine === 'LOCKED',
        stderr: () => '',
        release: () => {
          events.push('release');
          return Promise.resolve();
        },
      });
    },
    close: () => Promise.resolve(),
  };
  return { session, events };
}

function run(session: NodeSession, name: string) {
  const journal = new Journal(join(dir, `${name}.jsonl`), () => new Date('2026-12-07T11:00:00Z'));
  return {
    journal,
    base: {
      runId: 'r1',
      now: () => new Date('2026-12-07T11:00:00Z'),
      log: nodeLog(journal, session, { runId: 'r1', node: 'w1' }, null),
      recover: {
        node: 'w1',
        gather: {},
        gate: {
          timeouts: { kubeletHealthySec: 1, kubeletStableSec: 1, apiserverRestartSec: 1 },
          clock: { sleep: () => Promise.resolve(), now: () => 0 },
        },
      },
      refused: (reason: string) => `refused: ${reason}`,
    },
  };
}

describe('lockAndRecover', () => {
  it('locks, reads the dead-run record, runs the steps, then releases', async () => {
    const { session, events } = fakeNode('LOCKED');
    const { base } = run(session, 'ok');
    const answer = await lockAndRecover(session, base, (recovery) => {
      events.push(`steps (dead run: ${recovery.kind})`);
      return Promise.resolve('done');
    });
    expect(answer).toBe('done');
    expect(events).toEqual(['lock', 'inflight-read', 'steps (dead run: none)', 'release']);
  });

  it("a failing step gets the caller's answer while the lock is held; without one the error goes on, the lock released", async () => {
    const { session, events } = fakeNode('LOCKED');
    const { base } = run(session, 'fail');
    const boom = () => Promise.reject(new Error('boom'));
    const answer = await lockAndRecover(
      session,
      {
        ...base,
        failed: (e) => {
          events.push('failed');
          return Promise.resolve(`failed: ${(e as Error).message}`);
        },
      },
      boom,
    );
    expect(answer).toBe('failed: boom');
    expect(events.slice(-2)).toEqual(['failed', 'release']);
    await expect(lockAndRecover(session, base, boom)).rejects.toThrow('boom');
    expect(events.at(-1)).toBe('release');
  });

  it('a node locked by another run: the caller is told who holds it, the refusal is journalled, no step runs', async () => {
    const { session, events } = fakeNode('BUSY');
    const { base, journal } = run(session, 'busy');
    const answer = await lockAndRecover(session, base, () => Promise.reject(new Error('must not run')));
    expect(answer).toMatch(/^refused: w1 is locked by another kubemend run other-run \(kubemend 0\.1\.0\)/);
    expect(events).not.toContain('inflight-read');
    expect(readFileSync(journal.path, 'utf8')).toContain('"event":"refused-locked"');
  });
});
