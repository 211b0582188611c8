import { beforeAll, describe, expect, it } from 'vitest';
import { renderAudit, writeAudit } from '../../../src/commands/audit.js';
import type { Io } from '../../../src/commands/io.js';
import type { CommonOptions } from '../../../src/commands/options.js';
import { writePlanJson } from '../../../src/commands/plan.js';
import { loadTemplates } from '../../../src/commands/templates.js';
import { DEFAULT_CONTROLS } from '../../../src/controls/index.js';
import { NodeError } from '../../../src/errors.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { NodeRead } from '../../../src/facts/node-read.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { planFileOf, planRead } from '../../../src/plan/build.js';
import { auditNode, auditReportOf, type FleetWarn } from '../../../src/report/audit-build.js';
import { writeJson } from '../../../src/report/json-stream.js';
import { makePki } from '../support/certs.js';
import { fakeFacts, type FakeNode } from '../support/fake-node.js';
import { CONFIG, hostileControlPlane } from '../support/hostile-node.js';
import { CLIPBOARD, RLO, TITLE } from '../support/hostile-text.js';

const at = new Date('2026-11-22T03:00:00Z');

let node: FakeNode;
beforeAll(() => {
  node = hostileControlPlane(makePki(), `  # ${CLIPBOARD} é ✓ \u{1F600}`);
});

const target = (name: string) => ({ name, host: '10.0.0.10', port: 22 }) as unknown as NodeTarget;
/** A fleet of read nodes and one that could not be read. */
const reads = (): NodeRead[] => [
  { target: target('cp-1'), ok: true, model: nodeModel(fakeFacts(node)), hostKey: 'SHA256:x' },
  { target: target(`cp-2${RLO}`), ok: true, model: nodeModel(fakeFacts(node)), hostKey: 'SHA256:y' },
  { target: target('w-1'), ok: false, error: new NodeError('w-1', `ssh said ${TITLE}`, 'unreachable') },
];
/** The fleet step after every node is in: a warning on each result (kept results must take it). */
const fleetWarn: FleetWarn = (results) => {
  for (const r of results) r.warnings.push(`fleet: ${r.node} ${TITLE}`);
};
const chunksOf = (write: (w: (s: string) => void) => void): string[] => {
  const chunks: string[] = [];
  write((s) => chunks.push(s));
  return chunks;
};
const opts = (output: CommonOptions['output']) =>
  ({ output, color: false, verbose: true, controls: DEFAULT_CONTROLS }) as unknown as CommonOptions;
const io = (out: string[]): Io => ({
  stdout: { write: (s: string) => out.push(s) },
  stderr: { write: () => true },
  stdinIsTTY: false,
  env: {},
  now: () => at,
  interrupted: () => false,
});

describe('a large document written piece by piece, the same bytes as rendered at once', () => {
  it('audit -o json: the bytes JSON.stringify(report, null, 2) gave, in pieces', () => {
    const report = auditReportOf(
      reads().map((r) => auditNode(r, DEFAULT_CONTROLS, at, { cluster: undefined })),
      at,
      at,
      fleetWarn,
    );
    const before = JSON.stringify(report, null, 2) + '\n';
    expect(before).toContain('"evidence": [');
    expect(before).toContain('fleet: cp-2');
    expect(renderAudit(report, opts('json'), io([]))).toBe(before);

    const out: string[] = [];
    writeAudit(report, opts('json'), io(out));
    expect(out.join('')).toBe(before);
    // The other outputs are rendered as before.
    for (const output of ['table', 'junit', 'markdown'] as const) {
      const other: string[] = [];
      writeAudit(report, opts(output), io(other));
      expect(other, output).toEqual([renderAudit(report, opts(output), io([]))]);
    }
  });

  it('plan -o json and the plan file: the bytes JSON.stringify(plan, null, 2) gave, in pieces', () => {
    const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
    const planWith = (keepResults: boolean) =>
      planFileOf(
        reads().map((i) =>
          planRead(i, {
            controls: DEFAULT_CONTROLS,
            templates: loadTemplates(),
            now: at,
            playbook: () => kubeadm,
            current: { cluster: undefined },
            keep: false,
            keepResults,
          }),
        ),
        { createdAt: at, controls: DEFAULT_CONTROLS, given: [], fleetWarn },
      );
    const { plan, results } = planWith(true);
    const before = JSON.stringify(plan, null, 2) + '\n';
    expect(plan.nodes[0]!.changes.find((c) => c.path === CONFIG)!.diff).toContain(CLIPBOARD);
    expect(before).toContain('"content": "');
    expect(results.length).toBeGreaterThan(0);
    // Without the audit results kept (plan -o json, table): the same plan.
    const lean = planWith(false);
    expect(lean.results).toEqual([]);
    expect(JSON.stringify(lean.plan, null, 2) + '\n').toBe(before);
    expect(chunksOf((w) => writePlanJson(lean.plan, w)).join('')).toBe(before);
  });

  it('writes what JSON.stringify(v, null, 2) writes, for every kind of JSON value, at every depth', () => {
    const value = {
      empty: { a: [], o: {}, u: undefined },
      list: [1, -0, 1e21, 0.1, NaN, Infinity, null, undefined, () => 1, true, 'x', new Date(at)],
      text: `quote " back \\ nl \n tab \t ${TITLE} \u2028 \ud800 é \u{1F600}`,
      when: new Date(at),
      nested: [[[]], [{}], [{ deep: [{ k: 'v', u: undefined, t: `a\nb ${RLO}` }] }]],
      fn: () => 1,
      'odd "key"\n': 1,
    };
    expect(chunksOf((w) => writeJson(value, w)).join('')).toBe(JSON.stringify(value, null, 2));
    expect(chunksOf((w) => writeJson({ wrap: [value, [value]] }, w)).join('')).toBe(
      JSON.stringify({ wrap: [value, [value]] }, null, 2),
    );
    for (const v of [[], {}, 'a', 3, null, [undefined], { u: undefined }, new Date(at)])
      expect(chunksOf((w) => writeJson(v, w)).join('')).toBe(JSON.stringify(v, null, 2));
    expect(chunksOf((w) => writeJson(undefined, w))).toEqual([]);
  });

  it('a large document goes out in chunks, none of them near the whole', () => {
    const big = { nodes: Array.from({ length: 2000 }, (_, i) => ({ n: i, diff: 'x'.repeat(200) })) };
    const chunks = chunksOf((w) => writeJson(big, w));
    const whole = JSON.stringify(big, null, 2);
    expect(chunks.join('')).toBe(whole);
    expect(chunks.length).toBeGreaterThan(4);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(whole.length / 4);
  });
});
