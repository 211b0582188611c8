// A node's backup records are the node's text: `kubemend backups` and `rollback` judge every field,
// and a record that is not kubemend's is that node's error naming the file (exit 3), never a crash
// (exit 70) and never skipped (rollback would then restore an older backup).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorExit } from '../../../src/apply/outcome.js';
import { readBackups } from '../../../src/commands/backups.js';
import { NodeError } from '../../../src/errors.js';
import { scriptText } from '../../../src/node/remote.js';
import type { NodeSession } from '../../../src/node/ssh/types.js';
import { renderBackups } from '../../../src/report/backups-render.js';
import { decode } from '../support/scripts.js';

let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'kubemend-backups-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

/** A node whose scripts run here under dash, its /var/lib/kubemend in the test's directory. */
const session: NodeSession = {
  node: 'cp-1',
  hostKeyFingerprint: 'SHA256:fake',
  exec(command) {
    const { name, args } = decode(command);
    const r = spawnSync('dash', ['-c', scriptText(name), `kubemend-${name}`, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, KUBEMEND_STATE_DIR: state },
    });
    return Promise.resolve({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, truncated: false });
  },
  hold: () => Promise.reject(new Error('no lock here')),
  close: () => Promise.resolve(),
};

const record = (id: string, files: unknown[]) => ({
  id,
  createdAt: `2026-12-07T10:00:0${id.slice(-1)}Z`,
  tool: 'kubemend 0.1.0',
  files,
});
const good = {
  path: '/etc/kubernetes/manifests/kube-apiserver.yaml',
  action: 'modified',
  sha256: 'a'.repeat(64),
  mode: '600',
  uid: 0,
  gid: 0,
  copy: '0.orig',
  restart: 'static-pod:kube-apiserver',
};
const put = (dir: string, text: string) => {
  mkdirSync(join(state, 'backups', dir), { recursive: true });
  writeFileSync(join(state, 'backups', dir, 'metadata.json'), text);
};

describe('backup records from the node', () => {
  it('reads records kubemend wrote, oldest first', async () => {
    put('run-2', JSON.stringify(record('run-2', [good])));
    put('run-1', JSON.stringify(record('run-1', [{ ...good, action: 'created', copy: undefined }])));
    const list = await readBackups(session);
    expect(list.map((b) => b.id)).toEqual(['run-1', 'run-2']);
    expect(renderBackups('cp-1', list, 'kubemend rollback --node cp-1 --backup ID')).toContain(
      `sha256 ${'a'.repeat(12)}…`,
    );
  });

  const malformed: [string, string, string, RegExp][] = [
    [
      'a sha256 that is a number',
      'run-3',
      JSON.stringify(record('run-3', [{ ...good, sha256: 42 }])),
      /\/files\/0\/sha256 must be string/,
    ],
    [
      'an action of its own',
      'run-3',
      JSON.stringify(record('run-3', [{ ...good, action: 'deleted' }])),
      /\/files\/0\/action must be equal to one of the allowed values/,
    ],
    [
      'a copy outside the backup',
      'run-3',
      JSON.stringify(record('run-3', [{ ...good, copy: '../../../etc/shadow' }])),
      /\/files\/0\/copy must match pattern/,
    ],
    [
      'files that are not a list',
      'run-3',
      JSON.stringify({ ...record('run-3', []), files: { 0: good } }),
      /\/files must be array/,
    ],
    ['no JSON at all', 'run-3', '{"id": "run-3", "files": [', /not JSON/],
    [
      'an id that is not its directory',
      'run-3',
      JSON.stringify(record('run-4', [good])),
      /its id run-4 is not the name of its directory/,
    ],
  ];
  it.each(malformed)(
    "%s: the node's error naming the file, exit 3, not 70",
    async (_what, dir, text, why) => {
      put('run-1', JSON.stringify(record('run-1', [good])));
      put(dir, text);
      const e: unknown = await readBackups(session).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(NodeError);
      expect((e as NodeError).node).toBe('cp-1');
      expect((e as NodeError).message).toContain(
        `cp-1: /var/lib/kubemend/backups/${dir}/metadata.json is not a kubemend backup record`,
      );
      expect((e as NodeError).message).toMatch(why);
      expect(errorExit(e)).toBe(3);
    },
  );
});
