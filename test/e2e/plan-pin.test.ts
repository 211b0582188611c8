import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend, type CliResult } from './cli.js';
import { labShell } from './helpers.js';

// The plan that was reviewed is the plan that runs: a lab of its own, one node to change.
const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-pin`;
const NODE = 'kubeadm-worker-bad';
const CONFIG = '/var/lib/kubelet/config.yaml';

describe.skipIf(!canRun)(
  'approved plans on the lab: pinned by hash, signed, and a rollback with nothing to do',
  () => {
    let lab: Lab;
    let dir: string;
    let home: string;
    const p = (name: string) => join(dir, name);
    const run = (args: string[]): Promise<CliResult> =>
      kubemend([...args, '-i', lab.inventoryPath, '--journal', p('journal.jsonl')], { home });
    const shell = () => labShell(lab);
    const kubeletPid = async () =>
      Number((await shell().ssh(NODE, 'systemctl show -p MainPID --value kubelet')).trim());
    const sha = (file: string) => execFileSync('sha256sum', [file]).toString().split(' ')[0]!;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-pin-'));
      home = p('home');
      lab = await upLab({
        name: LAB,
        nodes: [NODE],
        replace: true,
        log: (l) => console.log(`[lab ${LAB}] ${l}`),
      });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'approver', '-f', p('approver')]);
      const pub = readFileSync(p('approver.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      writeFileSync(p('allowed_signers'), `approver@example.com ${pub}\n`);
    });
    afterAll(async () => {
      await downLab(LAB);
      rmSync(dir, { recursive: true, force: true });
    });

    it('a signed plan applies with --allowed-signers; an edited signed plan, an unsigned one and a wrong --plan-sha256 are refused before any node', async () => {
      const plan = p('change.plan.json');
      const made = await run(['plan', '--out', plan, '--sign', p('approver'), '-o', 'markdown']);
      expect(made.code).toBe(1);
      expect(made.stdout).toContain(`sha256 \`${sha(plan)}\``);
      const before = await shell().sha(NODE, CONFIG);
      const pid = await kubeletPid();

      // Edited after signing: the reviewer's content, one more setting (hashes made consistent).
      const doc = JSON.parse(readFileSync(plan, 'utf8')) as {
        nodes: { changes: { after: { content: string; sha256: string } }[] }[];
      };
      const change = doc.nodes[0]!.changes[0]!;
      change.after.content += 'readOnlyPort: 10255\n';
      change.after.sha256 = execFileSync('sha256sum', { input: change.after.content })
        .toString()
        .split(' ')[0]!;
      const edited = p('edited.plan.json');
      writeFileSync(edited, JSON.stringify(doc, null, 2) + '\n');
      writeFileSync(`${edited}.sig`, readFileSync(`${plan}.sig`));
      const unsigned = p('unsigned.plan.json');
      writeFileSync(unsigned, readFileSync(plan));

      for (const [args, says] of [
        [
          ['--plan', edited, '--allowed-signers', p('allowed_signers')],
          'does not verify for approver@example.com',
        ],
        [['--plan', unsigned, '--allowed-signers', p('allowed_signers')], `plan ${unsigned} is not signed`],
        [['--plan', plan, '--plan-sha256', 'ab'.repeat(32)], `not the approved ${'ab'.repeat(32)}`],
      ] as const) {
        const t0 = Date.now();
        const r = await run(['apply', ...args, '--yes']);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(says);
        expect(r.stdout + r.stderr).not.toContain(NODE);
        expect(Date.now() - t0).toBeLessThan(10_000);
      }
      expect(await shell().sha(NODE, CONFIG)).toBe(before);
      expect(await kubeletPid()).toBe(pid);
      expect(await shell().ssh(NODE, 'ls /var/lib/kubemend/backups 2>/dev/null | wc -l')).toBe('0\n');

      const r = await run([
        'apply',
        '--plan',
        plan,
        '--plan-sha256',
        sha(plan),
        '--allowed-signers',
        p('allowed_signers'),
        '--yes',
        '-o',
        'json',
      ]);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as ApplyReport;
      expect(report.outcomes.map((o) => [o.node, o.status])).toEqual([[NODE, 'applied']]);
      expect(report.plan).toMatchObject({ sha256: sha(plan), signer: { principal: 'approver@example.com' } });
      const start = readFileSync(p('journal.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e['event'] === 'start' && e['runId'] === report.runId);
      expect(start).toEqual([
        expect.objectContaining({ planSha256: sha(plan), signer: report.plan!.signer }),
      ]);
    });

    it('a rollback with nothing to restore restarts nothing and says so', async () => {
      const [backup] = (await shell().ssh(NODE, 'ls /var/lib/kubemend/backups')).trim().split('\n');
      const first = await run(['rollback', '--node', NODE, '--backup', backup!, '--yes']);
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('restarted and healthy');
      const pid = await kubeletPid();
      const again = await run(['rollback', '--node', NODE, '--backup', backup!, '--yes']);
      expect(again.code).toBe(0);
      expect(await kubeletPid()).toBe(pid);
      expect(again.stdout).toContain(`${CONFIG}: already as in the backup`);
      expect(again.stdout).toContain(
        `${NODE}: nothing to restore: every file is already as in backup ${backup}; nothing was restarted`,
      );
    });
  },
);
