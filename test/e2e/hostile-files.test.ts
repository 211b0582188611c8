// Issue 19, items 2 and 3 on real nodes: a directory a non-root user can write is refused at
// preflight with the node untouched, and a file kubemend created that someone replaced since is
// theirs: rollback leaves it and says so.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend, type CliResult } from './cli.js';
import { labShell, shq, waitUntil } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-hostile`;

const KUBELET_DIR = '/var/lib/kubelet';
const DROP_IN = '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf';

/**
 * Every file and directory under /etc and /var/lib with its sha256 (files), mode and owner: what
 * "byte-identical" means here. Left out: the node lock (lock.sh makes /var/lib/kubemend, its
 * backups directory, lock and lock.owner on every node it locks; issue 19, item 8 moves it to /run).
 */
const LOCK = '\\( -path /var/lib/kubemend/lock -o -path /var/lib/kubemend/lock.owner \\) -prune';
const FINGERPRINT = [
  `find /etc /var/lib -xdev ${LOCK} -o -printf '%p %y %m %u:%g\\n'`,
  "| grep -v -e '^/var/lib/kubemend d ' -e '^/var/lib/kubemend/backups d ' | sort;",
  `find /etc /var/lib -xdev ${LOCK} -o -type f -print0 | sort -z | xargs -0 sha256sum`,
].join(' ');

describe.skipIf(!canRun)('a local user cannot steer where kubemend writes or what it removes', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  const run = (args: string[]): Promise<CliResult> =>
    kubemend([...args, '-i', lab.inventoryPath, '--journal', join(dir, 'journal.jsonl')], { home });
  const ssh = (node: string, command: string) => labShell(lab).ssh(node, command);
  const healthy = (node: string) =>
    waitUntil(
      `${node} kubelet healthz`,
      async () => (await lab.ssh(node, 'curl -sf http://127.0.0.1:10248/healthz')).stdout === 'ok',
      60_000,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-hostile-'));
    home = join(dir, 'home');
    lab = await upLab({
      name: LAB,
      nodes: ['kubeadm-worker-bad', 'cmdline-pkg-bad'],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the kubelet config directory owned by a non-root user: refused at preflight with the reason, the node byte-identical', async () => {
    const node = 'kubeadm-worker-bad';
    const planFile = join(dir, 'worker.plan.json');
    expect((await run(['plan', '-l', node, '--out', planFile])).code).toBe(1);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { nodes: { changes: { path: string }[] }[] };
    expect(plan.nodes[0]?.changes.map((c) => c.path)).toEqual([`${KUBELET_DIR}/config.yaml`]);

    // nobody may now rename config.yaml away and put a link to any root file in its place.
    await ssh(node, `chown nobody ${KUBELET_DIR}`);
    try {
      const before = await ssh(node, FINGERPRINT);
      for (const args of [
        ['apply', '--plan', planFile, '--yes', '-o', 'json'],
        ['apply', '-l', node, '--yes', '-o', 'json'],
      ]) {
        const r = await run(args);
        expect(r.stderr).not.toMatch(/internal error/);
        expect(r.code).toBe(1);
        const [outcome] = (JSON.parse(r.stdout) as ApplyReport).outcomes;
        expect(outcome).toMatchObject({ node, status: 'blocked' });
        const reason = (outcome as { reason: string }).reason;
        expect(reason).toContain(
          `preflight: ${KUBELET_DIR}/config.yaml: ${KUBELET_DIR} is owned by nobody (uid 65534, mode 755), not by root`,
        );
        expect(reason).toContain('chown root DIR; chmod go-w DIR');
        expect(reason).toContain(`nothing was changed on ${node}`);
      }
      expect(await ssh(node, FINGERPRINT)).toBe(before);
    } finally {
      await ssh(node, `chown root ${KUBELET_DIR}`);
    }
  });

  it('a file kubemend created and someone replaced since: rollback leaves it in place and says so', async () => {
    const node = 'cmdline-pkg-bad';
    const applied = await run(['apply', '-l', node, '--yes', '-o', 'json']);
    expect(applied.stderr).not.toMatch(/internal error/);
    expect(applied.code).toBe(0);
    expect((JSON.parse(applied.stdout) as ApplyReport).outcomes).toMatchObject([
      { node, status: 'applied', changed: [DROP_IN] },
    ]);
    // Someone else's drop-in now, at that name: kubemend's content and a line of theirs.
    await ssh(node, `printf '# kept by the node team\\n' >> ${shq(DROP_IN)}`);
    const theirs = await ssh(node, `cat ${shq(DROP_IN)}`);

    const back = await run(['rollback', '--node', node, '--yes']);
    expect(back.stderr).not.toMatch(/internal error/);
    expect(back.stderr).toContain(
      `${node}: left ${DROP_IN} in place: its sha256 is ${(await ssh(node, `sha256sum < ${shq(DROP_IN)}`)).split(' ')[0]} now, not the`,
    );
    expect(back.stderr).toContain('remove it by hand if it is not wanted');
    expect(back.code).toBe(1);
    expect(await ssh(node, `cat ${shq(DROP_IN)}`)).toBe(theirs);
    await healthy(node);
    const journal = readFileSync(join(dir, 'journal.jsonl'), 'utf8');
    expect(journal).toMatch(/"event":"left-in-place"/);

    await ssh(node, `rm -f ${shq(DROP_IN)} && systemctl daemon-reload && systemctl restart kubelet`);
    await healthy(node);
  });
});
