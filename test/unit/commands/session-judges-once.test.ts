import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runAudit } from '../../../src/commands/audit.js';
import type { Io } from '../../../src/commands/io.js';
import type { CommonOptions } from '../../../src/commands/options.js';
import { runPlan } from '../../../src/commands/plan.js';
import { runSession } from '../../../src/commands/session.js';
import { changeControls, resolveControls } from '../../../src/controls/index.js';
import { ExitCode } from '../../../src/errors.js';
import type { PlanFile } from '../../../src/plan/types.js';
import type * as Controls from '../../../src/controls/index.js';
import type * as Gather from '../../../src/node/gather.js';
import type * as SshIndex from '../../../src/node/ssh/index.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, fixture, type FakeNode } from '../support/fake-node.js';

/**
 * The session driven as a user would, its nodes faked at the SSH edge: what reaches a node (one
 * gather each) and what judges it (each control run on it) are counted.
 */
const seen = vi.hoisted(() => ({
  gathers: [] as string[],
  judged: [] as string[],
  node: undefined as unknown,
  prompts: [] as { message: string; choices: string[] }[],
  /** Tick the opt-in door controls when the session offers them. */
  tickDoor: true,
}));

vi.mock('../../../src/node/ssh/index.js', async (original) => ({
  ...(await original<typeof SshIndex>()),
  withSession: (target: { name: string }, _opts: unknown, fn: (s: unknown) => Promise<unknown>) =>
    fn({
      node: target.name,
      hostKeyFingerprint: `SHA256:${target.name}`,
      exec: () => Promise.reject(new Error('the gather is faked')),
      hold: () => Promise.reject(new Error('not used')),
      close: () => Promise.resolve(),
    }),
}));
vi.mock('../../../src/node/gather.js', async (original) => ({
  ...(await original<typeof Gather>()),
  gatherFacts: (session: { node: string }) => {
    seen.gathers.push(session.node);
    return Promise.resolve(seen.node);
  },
}));
vi.mock('../../../src/controls/index.js', async (original) => {
  const real = await original<typeof Controls>();
  return {
    ...real,
    runControls: (...args: Parameters<typeof real.runControls>) => {
      for (const c of args[2]) seen.judged.push(`${args[0]}:${c.id}`);
      return real.runControls(...args);
    },
  };
});
vi.mock('@inquirer/prompts', () => {
  type Choice = { name?: string; value?: string; checked?: boolean; disabled?: unknown };
  const choicesOf = (choices: Choice[]) => choices.filter((c) => c.value !== undefined);
  return {
    Separator: class {
      constructor(public separator = '') {}
    },
    input: () => Promise.reject(new Error('no inventory question expected')),
    confirm: (q: { message: string }) => {
      seen.prompts.push({ message: q.message, choices: [] });
      return Promise.resolve(false);
    },
    checkbox: (q: { message: string; choices: Choice[] }) => {
      const choices = choicesOf(q.choices);
      seen.prompts.push({ message: q.message, choices: choices.map((c) => c.name ?? '') });
      const door = q.message.includes('Close the door too?');
      return Promise.resolve(
        choices.filter((c) => (door ? seen.tickDoor : c.checked && !c.disabled)).map((c) => c.value),
      );
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'kubemend-session-'));
let pki: TestPki;
beforeAll(() => {
  pki = makePki();
  // Two legacy command-line kubelets (kubeadm 1.5): no client CA, anonymous on, AlwaysAllow.
  const legacy: FakeNode = {
    kubeletUnit: [
      {
        path: '/lib/systemd/system/kubelet.service',
        text: fixture('lab-extra/units/kubeadm-kubelet.service'),
      },
      {
        path: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
        text: fixture('kubeadm/legacy-v1.5/10-kubeadm.conf'),
      },
    ],
    files: { '/etc/kubernetes/pki/ca.crt': pki.caCrt },
  };
  seen.node = fakeFacts(legacy);
  writeFileSync(join(dir, 'inv.yaml'), 'nodes:\n  w1: { host: 127.0.0.1 }\n  w2: { host: 127.0.0.2 }\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  seen.gathers.length = 0;
  seen.judged.length = 0;
  seen.prompts.length = 0;
});

const opts = (controls?: string): CommonOptions => ({
  inventory: join(dir, 'inv.yaml'),
  inventoryIsDefault: false,
  controls: resolveControls(controls).controls,
  output: 'table',
  concurrency: 2,
  connectTimeout: 10,
  acceptNewHostKeys: false,
  color: false,
  verbose: false,
  pager: false,
});

function fakeIo() {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    stdinIsTTY: true,
    env: { HOME: dir, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    now: () => new Date('2026-12-07T20:00:00Z'),
    interrupted: () => false,
  };
  return { io, out };
}

const counts = (xs: readonly string[]) =>
  Object.fromEntries([...new Set(xs)].map((x) => [x, xs.filter((y) => y === x).length]));

describe('the session judges each node once', { timeout: 20_000 }, () => {
  it('one gather and one run of each control per node, also when the door controls are ticked and planned again', async () => {
    seen.tickDoor = true;
    const { io, out } = fakeIo();
    expect(await runSession(opts(), io)).toBe(ExitCode.cancelled);
    expect(out.stdout).toContain('Not applied: no node was changed.');
    expect(counts(seen.gathers)).toEqual({ w1: 1, w2: 1 });
    const ids = resolveControls('all').controls.map((c) => c.id);
    expect(counts(seen.judged)).toEqual(
      Object.fromEntries(['w1', 'w2'].flatMap((n) => ids.map((id) => [`${n}:${id}`, 1]))),
    );
    // The door was offered, and what it planned is what `plan --controls all` plans.
    expect(seen.prompts.map((p) => p.message)).toEqual([
      'Nodes to audit (space toggles, a toggles all, enter confirms)',
      expect.stringMatching(/^The kubelet on w1, w2 serves anyone .* Close the door too\?/),
      'Findings to fix',
      expect.stringMatching(/^Apply 2 change\(s\) to 2 node\(s\)\?/),
    ]);
    const plan = await planOf('all');
    expect(seen.prompts[2]!.choices).toEqual(
      plan.nodes.flatMap((n) => n.changes.map((ch) => `${n.node}: ${changeControls(ch).join('+')}`)),
    );
    expect(seen.prompts[2]!.choices[0]).toMatch(/^w1: kubelet-client-ca\+kubelet-anonymous-auth/);
    for (const ch of plan.nodes.flatMap((n) => n.changes)) expect(out.stdout).toContain(ch.diff);
  });

  it("the audit shown is the audit command's, the plan offered is the plan command's (door left unticked)", async () => {
    seen.tickDoor = false;
    const { io, out } = fakeIo();
    expect(await runSession(opts(), io)).toBe(ExitCode.cancelled);
    expect(counts(seen.gathers)).toEqual({ w1: 1, w2: 1 });
    expect(counts(seen.judged)).toEqual({
      'w1:apiserver-kubelet-client-cert': 1,
      'w1:kubelet-client-ca': 1,
      'w2:apiserver-kubelet-client-cert': 1,
      'w2:kubelet-client-ca': 1,
    });
    const audit = fakeIo();
    expect(await runAudit(opts(), audit.io)).toBe(ExitCode.findings);
    expect(audit.out.stdout).toMatch(/kubelet-client-ca/);
    expect(out.stdout).toContain(audit.out.stdout);
    const plan = await planOf(undefined);
    expect(seen.prompts[2]!.choices).toEqual(
      plan.nodes.flatMap((n) => n.changes.map((ch) => `${n.node}: ${changeControls(ch).join('+')}`)),
    );
    for (const ch of plan.nodes.flatMap((n) => n.changes)) expect(out.stdout).toContain(ch.diff);
  });
});

/** What `kubemend plan` makes of the same nodes. */
async function planOf(controls: string | undefined): Promise<PlanFile> {
  const { io, out } = fakeIo();
  await runPlan({ ...opts(controls), output: 'json' }, io);
  return JSON.parse(out.stdout) as PlanFile;
}
