/**
 * Issue 23: what audit and plan keep of a node until the fleet step must not keep the node's
 * gathered output alive. A path read on a node is a slice of that node's whole output in V8 (about
 * 10 KB a node on the lab, 48 MiB at 5,000 nodes when the fleet summaries held such slices).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { currentMember } from '../../../src/commands/fleet.js';
import { loadTemplates } from '../../../src/commands/templates.js';
import { DEFAULT_CONTROLS } from '../../../src/controls/index.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { NodeFacts } from '../../../src/facts/types.js';
import type { Inspection } from '../../../src/node/inspect.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { planRead } from '../../../src/plan/build.js';
import { auditNode } from '../../../src/report/audit-build.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, type FakeNode } from '../support/fake-node.js';
import { hostileControlPlane, PKI } from '../support/hostile-node.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/**
 * The node's facts as parseFacts makes them from one gathered output: every string of them a slice
 * of that output (here `padding` characters of other output, as a large node's would be).
 */
function gatheredFacts(facts: NodeFacts, padding: number, seed: number): NodeFacts {
  const walk = (v: unknown, f: (s: string) => string): unknown => {
    if (typeof v === 'string') return f(v);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [walk(k, f), walk(x, f)]));
    if (Array.isArray(v)) return v.map((x) => walk(x, f));
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, f)]));
    return v;
  };
  const parts: string[] = [`${seed}`.padEnd(padding, '.')];
  walk(facts, (s) => (parts.push(s), s));
  const output = parts.join('');
  // The same walk again: each string, in the same order, cut out of the output.
  let at = padding;
  return walk(facts, (s) => output.slice(at, (at += s.length))) as NodeFacts;
}

const MiB = 1024 * 1024;
const NODES = 40;
let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

/** A kubeadm control plane to fix: the kube-apiserver's pair exists on disk, not in its flags. */
const controlPlane = (comments = '# c'): FakeNode => ({
  ...hostileControlPlane(pki, comments),
  pairs: [
    {
      cert: `${PKI}/apiserver-kubelet-client.crt`,
      key: `${PKI}/apiserver-kubelet-client.key`,
      result: 'match',
    },
  ],
});

/**
 * Reads `count` nodes one by one, as a run does, keeping of each only what `keep` returns; each
 * node's output is `padding` characters of other output and its files (its kubelet config with
 * `comments` in it).
 */
const readEach = <T>(
  keep: (i: Inspection) => T,
  { count = NODES, padding = MiB, comments = '# c' } = {},
): T[] =>
  Array.from({ length: count }, (_, n) =>
    keep({
      target: { name: `cp-${n}`, host: `10.0.0.${n}`, port: 22 } as unknown as NodeTarget,
      ok: true,
      model: nodeModel(gatheredFacts(fakeFacts(controlPlane(comments)), padding, n)),
      hostKey: 'SHA256:x',
    }),
  );

describe('what is kept of each node until the fleet step holds none of its gathered output', () => {
  // Judged a minute after the test's certificates were made.
  const at = new Date(Date.now() + 60_000);
  const kubeadm = () => loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;

  const planOf =
    (templates = loadTemplates(), playbook = kubeadm()) =>
    (i: Inspection) =>
      planRead(i, {
        controls: DEFAULT_CONTROLS,
        templates,
        now: at,
        playbook: () => playbook,
        current: currentMember(i),
        keep: false,
        keepResults: true,
      });

  it('plan: nodes of a pool, which hold the same kubelet config, keep one copy of what their plans show', () => {
    // 100 nodes whose kubelet config holds 50,000 characters more (a long comment): each plan shows it.
    const comments = Array.from({ length: 1000 }, (_, i) => `# ${String(i).padStart(46, '.')}`).join('\n');
    const grownWith = (text: string) => {
      const before = heapAfterGc();
      const kept = readEach(planOf(), { count: 100, padding: 1024, comments: text });
      const grown = heapAfterGc() - before;
      // Used after the measure: what is kept is alive while it is measured.
      expect(kept.every((k) => k.plan.changes.some((c) => c.after?.content?.includes(text)))).toBe(true);
      return grown;
    };
    grownWith('# c'); // code compiled, caches filled
    const small = grownWith('# c');
    const large = grownWith(comments);
    // One copy a node would be 5 MB more; one copy for the pool is 50 KB.
    expect((large - small) / MiB).toBeLessThan(1);
  });

  it('plan: 40 nodes of 1 MiB of output each keep well under 1 MiB each once read', () => {
    const plan = planOf();
    const before = heapAfterGc();
    const kept = readEach(plan);
    const grown = heapAfterGc() - before;
    // The plan and its fleet summaries are there (the node's plan changes its files).
    expect(kept.map((k) => [k.plan.status, !!k.fleet, !!k.current])).toEqual(
      kept.map(() => ['change', true, true]),
    );
    // Each node's 1 MiB output kept alive would be 40 MiB (2 bytes a character: 80 MiB).
    expect(grown / MiB).toBeLessThan(NODES / 4);
  });

  it('audit: the same for each node’s results and fleet member', () => {
    const before = heapAfterGc();
    const kept = readEach((i) => auditNode(i, DEFAULT_CONTROLS, at, currentMember(i)));
    const grown = heapAfterGc() - before;
    expect(kept.every((k) => k.member && k.results.length === DEFAULT_CONTROLS.length)).toBe(true);
    expect(grown / MiB).toBeLessThan(NODES / 4);
  });
});
