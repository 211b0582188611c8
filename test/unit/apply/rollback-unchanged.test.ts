// `kubemend rollback` of a node that is already as in the backup restarts nothing.
import { describe, expect, it } from 'vitest';
import { rollBack } from '../../../src/apply/recover.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { BackupEntry, Inflight } from '../../../src/node/changes.js';
import type { ExecResult, NodeSession } from '../../../src/node/ssh/types.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { fakeFacts } from '../support/fake-node.js';
import { decode } from '../support/scripts.js';

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '', truncated: false });

/** A node whose restore.sh answers `restore` (one line per file), and that counts its kubelet restarts. */
function node(restore: string) {
  const steps: string[] = [];
  let pid = 100;
  const session: NodeSession = {
    node: 'w1',
    hostKeyFingerprint: 'SHA256:fake',
    exec(command) {
      const { name } = decode(command);
      steps.push(name);
      if (name === 'restore') return Promise.resolve(ok(restore));
      if (name === 'restart-kubelet') pid++;
      if (name === 'kubelet-state')
        return Promise.resolve(
          ok(`MainPID=${pid}\nNRestarts=0\nActiveState=active\nSubState=running\nHealthz=ok\n`),
        );
      return Promise.resolve(ok());
    },
    hold: () => Promise.reject(new Error('no lock here')),
    close: () => Promise.resolve(),
  };
  return { session, steps, pid: () => pid };
}

const CONFIG = '/var/lib/kubelet/config.yaml';
const DROPIN = '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf';
const modified: BackupEntry = {
  path: CONFIG,
  action: 'modified',
  sha256: 'a'.repeat(64),
  copy: '0.orig',
  restart: 'kubelet',
};
const created: BackupEntry = {
  path: DROPIN,
  action: 'created',
  sha256: 'b'.repeat(64),
  restart: 'kubelet+daemon-reload',
};
const run = (files: BackupEntry[]): Inflight => ({
  runId: 'run-1',
  tool: 'kubemend 0.1.0',
  startedAt: '2026-12-07T00:00:00Z',
  backup: '/var/lib/kubemend/backups/run-1',
  restarts: [...new Set(files.map((f) => f.restart!))],
  files,
});
const model = nodeModel(
  fakeFacts({ processes: [{ pid: 100, comm: 'kubelet', argv: ['/usr/bin/kubelet', `--config=${CONFIG}`] }] }),
);
const gate = {
  timeouts: loadBuiltinPlaybooks().find((p) => p.name === 'generic')!.timeouts,
  clock: { now: () => 0, sleep: () => Promise.resolve() },
};

describe('a rollback with nothing to restore', () => {
  it('every file already as in the backup: no restart, the kubelet keeps its PID, says so in the journal', async () => {
    const n = node('unchanged 0\nremoved 1\n');
    const events: string[] = [];
    const r = await rollBack(
      n.session,
      run([modified, created]),
      model,
      gate,
      (e) => {
        events.push(e);
        return Promise.resolve();
      },
      { absent: [DROPIN] },
    );
    expect(r).toEqual({ left: [], restarted: false });
    expect(n.steps).not.toContain('restart-kubelet');
    expect(n.pid()).toBe(100);
    expect(events).toEqual(['nothing-to-restore']);
  });

  it('one file put back (or a created file still there): restarted and gated as before', async () => {
    for (const [restore, absent] of [
      ['restored 0\nremoved 1\n', [DROPIN]],
      ['unchanged 0\nremoved 1\n', []],
    ] as const) {
      const n = node(restore);
      const r = await rollBack(n.session, run([modified, created]), model, gate, () => Promise.resolve(), {
        absent,
      });
      expect(r).toEqual({ left: [], restarted: true });
      expect(n.steps).toContain('restart-kubelet');
    }
  });

  it("a dead run's recovery (no `unlessUnchanged`) always restarts: the kubelet may still run its change", async () => {
    const n = node('unchanged 0\n');
    expect(await rollBack(n.session, run([modified]), model, gate, () => Promise.resolve())).toEqual({
      left: [],
      restarted: true,
    });
    expect(n.steps).toContain('restart-kubelet');
  });
});
