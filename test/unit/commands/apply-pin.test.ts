import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../support/cli.js';

// The node is 127.0.0.1:1, which refuses at once: "ECONNREFUSED" in the output means kubemend tried
// to connect; its absence, with exit 2, means the check came before any node.
const dir = mkdtempSync(join(tmpdir(), 'kubemend-apply-pin-'));
const p = (name: string) => join(dir, name);
const env = { HOME: dir, PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const run = cliRunner(env);
const cli = async (...argv: string[]) => {
  const r = await run(...argv);
  return { ...r, all: r.stdout + r.stderr };
};
const apply = (...args: string[]) =>
  cli('apply', '-i', p('inv.yaml'), '--journal', p('journal.jsonl'), '--yes', ...args);

beforeAll(() => {
  writeFileSync(p('inv.yaml'), 'nodes:\n  cp: { host: 127.0.0.1, port: 1 }\n');
  // A plan in which the node is to be judged on the node (compliant): apply connects to lock it.
  const plan = {
    version: 1,
    tool: 'kubemend 0.1.0',
    createdAt: '2026-12-07T02:00:00Z',
    nodes: [
      {
        node: 'cp',
        host: '127.0.0.1',
        port: 1,
        hostKey: null,
        status: 'compliant',
        changes: [],
        blocked: [],
      },
    ],
  };
  writeFileSync(p('change.plan.json'), JSON.stringify(plan, null, 2) + '\n');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', p('alice')]);
  const pub = readFileSync(p('alice.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(p('allowed_signers'), `alice@example.com ${pub}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('apply --plan-sha256: only the approved plan file runs', { timeout: 30_000 }, () => {
  it('a plan file with another hash: exit 2 before any connection; the approved hash connects', async () => {
    const wrong = await apply('--plan', p('change.plan.json'), '--plan-sha256', 'ab'.repeat(32));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`not the approved ${'ab'.repeat(32)}`);
    expect(wrong.all).not.toContain('ECONNREFUSED');
    const right = await apply('--plan', p('change.plan.json'), '--plan-sha256', sha(p('change.plan.json')));
    expect(right.code).toBe(3);
    expect(right.all).toContain('ECONNREFUSED');
  });

  it('--plan-sha256 or --allowed-signers without --plan: exit 2, they pin a saved plan', async () => {
    for (const flag of [
      ['--plan-sha256', 'ab'.repeat(32)],
      ['--allowed-signers', p('allowed_signers')],
    ]) {
      const r = await apply(...flag);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${flag[0]} pins a saved plan: give the plan with --plan FILE`);
      expect(r.all).not.toContain('ECONNREFUSED');
    }
  });
});

describe('plan --sign and apply --allowed-signers', { timeout: 30_000 }, () => {
  it('plan --sign with something that is not a key: exit 2 before any node', async () => {
    writeFileSync(p('notakey'), 'hello\n');
    const r = await cli('plan', '-i', p('inv.yaml'), '--out', p('x.plan.json'), '--sign', p('notakey'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not an SSH key ssh-keygen can use');
    expect(r.all).not.toContain('ECONNREFUSED');
    expect(existsSync(p('x.plan.json'))).toBe(false);
  });

  it('plan --sign writes FILE.sig that ssh-keygen verifies; the summary shows the hash of those very bytes', async () => {
    const out = p('signed.plan.json');
    const r = await cli('plan', '-i', p('inv.yaml'), '--out', out, '--sign', p('alice'), '-o', 'markdown');
    expect(r.code).toBe(3); // the node is unreachable; the plan and its signature are written all the same
    expect(r.stdout).toContain(`Plan file: \`${out}\`, sha256 \`${sha(out)}\`.`);
    expect(r.stdout).toContain(`--plan-sha256 ${sha(out)} --yes`);
    expect(r.stdout).toContain(`Signed: \`${out}.sig\``);
    const verified = execFileSync(
      'ssh-keygen',
      [
        '-Y',
        'verify',
        '-f',
        p('allowed_signers'),
        '-I',
        'alice@example.com',
        '-n',
        'kubemend-plan',
        '-s',
        `${out}.sig`,
      ],
      { input: readFileSync(out) },
    ).toString();
    expect(verified).toContain('Good "kubemend-plan" signature for alice@example.com');
  });

  it('a signed plan is accepted and its signer recorded in the JSON and the journal; edited or unsigned: exit 2, no connection', async () => {
    const file = p('change.plan.json');
    execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'kubemend-plan', '-f', p('alice'), file], {
      stdio: 'pipe',
    });
    const ok = await apply('--plan', file, '--allowed-signers', p('allowed_signers'), '-o', 'json');
    expect(ok.code).toBe(3);
    expect(ok.all).toContain('ECONNREFUSED');
    const report = JSON.parse(ok.stdout) as {
      plan: { sha256: string; signer: { principal: string; key: string } };
    };
    expect(report.plan.sha256).toBe(sha(file));
    expect(report.plan.signer.principal).toBe('alice@example.com');
    expect(report.plan.signer.key).toMatch(/^ED25519 SHA256:/);
    const start = readFileSync(p('journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e['event'] === 'start')
      .at(-1)!;
    expect(start).toMatchObject({ planSha256: sha(file), signer: report.plan.signer });

    const edited = p('edited.plan.json');
    writeFileSync(edited, readFileSync(file, 'utf8').replace('"compliant"', '"change"'));
    writeFileSync(`${edited}.sig`, readFileSync(`${file}.sig`));
    const e = await apply('--plan', edited, '--allowed-signers', p('allowed_signers'));
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('does not verify for alice@example.com');
    expect(e.all).not.toContain('ECONNREFUSED');

    const unsigned = p('unsigned.plan.json');
    writeFileSync(unsigned, readFileSync(file));
    const u = await apply('--plan', unsigned, '--allowed-signers', p('allowed_signers'));
    expect(u.code).toBe(2);
    expect(u.stderr).toContain(`plan ${unsigned} is not signed`);
    expect(u.all).not.toContain('ECONNREFUSED');
    // --plan-signature points at a signature kept elsewhere.
    const elsewhere = await apply(
      '--plan',
      unsigned,
      '--allowed-signers',
      p('allowed_signers'),
      '--plan-signature',
      `${file}.sig`,
    );
    expect(elsewhere.code).toBe(3);
  });
});
