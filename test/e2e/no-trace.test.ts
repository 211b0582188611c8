// "Compliant nodes untouched" and "a refused node is byte-identical", checked on the node's disk:
// every path under /etc and /var/lib (type, mode, owner, sha256 or link target) before and after
// audit, plan, apply and rollback on a node they do not change. Only /run may differ (the lock).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend, labArgs, type CliResult } from './cli.js';
import { labShell, waitUntil } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-notrace`;

const COMPLIANT = 'kubeadm-worker-ok';
const REFUSED = 'kubeadm-cp-bad';
const CERT = '/etc/kubernetes/pki/apiserver-kubelet-client.crt';
const CONFIG = '/var/lib/kubelet/config.yaml';

/** One line per path under /etc and /var/lib, then one per regular file with its sha256. */
const LISTING = [
  "find /etc /var/lib -xdev -printf '%y %m %U:%G %p -> %l\\n' | LC_ALL=C sort",
  'find /etc /var/lib -xdev -type f -exec sha256sum {} + | LC_ALL=C sort',
].join('; ');

/** The lines only in `before` (-) and only in `after` (+): empty when the two listings are the same. */
function changes(before: string, after: string): string[] {
  const a = new Set(before.split('\n'));
  const b = new Set(after.split('\n'));
  return [
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`),
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`),
  ];
}

describe.skipIf(!canRun)('no trace on a node kubemend does not change', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  const run = (args: string[]): Promise<CliResult> =>
    kubemend(labArgs(args, lab.inventoryPath, dir), { home });
  const ssh = (node: string, command: string) => labShell(lab).ssh(node, command);
  const listing = (node: string) => ssh(node, LISTING);
  const outcomes = (r: CliResult) => (JSON.parse(r.stdout) as ApplyReport).outcomes;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-notrace-'));
    home = join(dir, 'home');
    lab = await upLab({
      name: LAB,
      nodes: [COMPLIANT, REFUSED],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a compliant node: audit, plan, apply (with and without a plan) and rollback leave /etc and /var/lib byte-identical', async () => {
    const node = COMPLIANT;
    const before = await listing(node);
    expect(before).toContain(`f 644 0:0 ${CONFIG} -> \n`);

    expect((await run(['audit', '-l', node])).code).toBe(0);
    const planFile = join(dir, 'compliant.plan.json');
    expect((await run(['plan', '-l', node, '--out', planFile])).code).toBe(0);
    const applied = await run(['apply', '-l', node, '--yes', '-o', 'json']);
    expect(applied.stderr).not.toMatch(/internal error/);
    expect(applied.code).toBe(0);
    expect(outcomes(applied)).toEqual([{ node, status: 'compliant' }]);
    const fromPlan = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
    expect(fromPlan.code).toBe(0);
    expect(outcomes(fromPlan)).toEqual([{ node, status: 'compliant' }]);
    // No backup to roll back to: the node was locked and read, nothing more.
    const back = await run(['rollback', '--node', node, '--yes']);
    expect(back.stderr).toContain(`node ${node} has no kubemend backups: nothing was changed`);
    expect(back.code).toBe(1);

    expect(changes(before, await listing(node))).toEqual([]);
    // The lock was taken, in kubemend's own directory on the tmpfs that boot empties.
    expect(await ssh(node, 'stat -c "%U %a %F" /run/kubemend; ls -A /run/kubemend')).toBe(
      'root 700 directory\nlock\nlock.owner\n',
    );
  });

  it('a node refused at preflight (a certificate gone, a file changed since the plan) or blocked: byte-identical', async () => {
    const node = REFUSED;
    const planFile = join(dir, 'refused.plan.json');
    expect((await run(['plan', '-l', node, '--out', planFile])).code).toBe(1);
    // The certificate the plan points the kube-apiserver at is gone: the plan is no longer safe.
    await ssh(node, `mv ${CERT} /root/cert.away`);
    try {
      const before = await listing(node);
      expect((await run(['audit', '-l', node])).code).toBe(1);
      const plan = await run(['plan', '-l', node, '-o', 'json']);
      expect(plan.code).toBe(1);
      expect(plan.stdout).toContain('"status": "blocked"');
      const blocked = await run(['apply', '-l', node, '--yes', '-o', 'json']);
      expect(blocked.code).toBe(1);
      expect(outcomes(blocked)).toMatchObject([{ node, status: 'blocked' }]);
      const refused = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
      expect(refused.stderr).not.toMatch(/internal error/);
      expect(refused.code).toBe(1);
      expect(outcomes(refused)).toMatchObject([
        { node, status: 'blocked', reason: expect.stringMatching(/^preflight: /) as string },
      ]);
      expect(changes(before, await listing(node))).toEqual([]);
    } finally {
      await ssh(node, `mv /root/cert.away ${CERT}`);
    }

    // A file changed since the plan was made: stale, exit 4, and still nothing written.
    const stalePlan = join(dir, 'stale.plan.json');
    expect((await run(['plan', '-l', node, '--out', stalePlan])).code).toBe(1);
    await ssh(node, `echo '# edited after the plan' >> ${CONFIG}`);
    try {
      const before = await listing(node);
      const stale = await run(['apply', '--plan', stalePlan, '--yes', '-o', 'json']);
      expect(stale.code).toBe(4);
      expect(outcomes(stale)).toMatchObject([{ node, status: 'stale' }]);
      expect(changes(before, await listing(node))).toEqual([]);
    } finally {
      await ssh(node, `sed -i '/# edited after the plan/d' ${CONFIG}`);
    }
  });

  it('an older kubemend holding /var/lib/kubemend/lock keeps this version off the node; its lock file is never made', async () => {
    const node = COMPLIANT;
    expect(await ssh(node, 'test -e /var/lib/kubemend && echo there || echo none')).toBe('none\n');
    // What the previous version left and held: its state directory (0700), lock and owner record.
    await ssh(
      node,
      [
        'mkdir -m 700 /var/lib/kubemend',
        `printf '%s\\n' '{"runId":"20261101T000000-old","tool":"kubemend 0.0.9"}' > /var/lib/kubemend/lock.owner`,
        'systemd-run --quiet --unit=km-old-lock --collect flock /var/lib/kubemend/lock sleep 120',
      ].join(' && '),
    );
    try {
      await waitUntil(
        'the old lock to be held',
        async () => (await lab.ssh(node, 'flock -n /var/lib/kubemend/lock true')).code !== 0,
        30_000,
        200,
      );
      const r = await run(['apply', '-l', node, '--yes', '-o', 'json']);
      expect(r.code).toBe(3);
      expect(outcomes(r)).toMatchObject([
        {
          node,
          status: 'error',
          reason: expect.stringContaining(
            'is locked by an older kubemend run 20261101T000000-old (kubemend 0.0.9) (its lock is /var/lib/kubemend/lock)',
          ) as string,
        },
      ]);
    } finally {
      await ssh(node, 'systemctl stop km-old-lock; rm -rf /var/lib/kubemend');
    }
  });
});
