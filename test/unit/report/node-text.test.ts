import { describe, expect, it } from 'vitest';
import type { AuditResult } from '../../../src/controls/types.js';
import type { PlanFile } from '../../../src/plan/types.js';
import { describeOutcome, renderApplySummary } from '../../../src/report/apply-render.js';
import { summarize, type AuditReport } from '../../../src/report/audit-report.js';
import { renderBackups } from '../../../src/report/backups-render.js';
import { boardLine } from '../../../src/report/board-line.js';
import { makeColors } from '../../../src/report/colors.js';
import { renderAuditJunit } from '../../../src/report/junit.js';
import { renderAuditMarkdown } from '../../../src/report/markdown.js';
import { mdCode, mdFence, mdText } from '../../../src/report/md-text.js';
import { renderPlanMarkdown } from '../../../src/report/plan-markdown.js';
import { colorDiff, renderPlanPatch, renderPlanText } from '../../../src/report/plan-render.js';
import { renderAuditTable } from '../../../src/report/table.js';
import { visible, visibleDeep, visibleLines } from '../../../src/report/visible.js';
import {
  CLEAR,
  CLIPBOARD,
  HOSTILE,
  IMG,
  LGTM,
  RAW_CONTROL,
  RLO,
  TITLE,
  withoutOwnColours,
} from '../support/hostile-text.js';

const off = makeColors(false);
const on = makeColors(true);

const result = (over: Partial<AuditResult> = {}): AuditResult => ({
  node: 'cp-1',
  control: 'kubelet-client-ca',
  benchmarks: ['CIS Kubernetes 4.2.3'],
  status: 'fail',
  reason: `clientCAFile ${HOSTILE}/ca.crt does not exist`,
  evidence: [
    {
      source: `/var/lib/kubelet/${TITLE}config.yaml`,
      key: 'authentication.x509.clientCAFile',
      value: `/etc/${CLIPBOARD}\n/fake`,
    },
  ],
  warnings: [`comment: ${CLEAR}${IMG}`],
  ...over,
});

function report(results: AuditResult[] = [result()]): AuditReport {
  return {
    version: 1,
    tool: 'kubemend 0.1.0',
    startedAt: '2026-11-22T03:00:00Z',
    finishedAt: '2026-11-22T03:00:01Z',
    nodes: [{ node: 'cp-1', host: '10.0.0.10', role: 'control-plane', layout: 'kubeadm', reachable: true }],
    results,
    errors: [],
    summary: summarize(results),
  };
}

const CONFIG = '/var/lib/kubelet/config.yaml';
const hostileDiff = [
  `--- a/cp-1${CONFIG}`,
  `+++ b/cp-1${CONFIG}`,
  '@@ -1,6 +1,8 @@',
  ` # ${TITLE} pool ${CLIPBOARD}`,
  ' # ```',
  ` # ${LGTM}`,
  ` # ${IMG}`,
  '\tkey: tabbed',
  '+authentication:',
  '+  x509:',
  '',
].join('\n');

function plan(): PlanFile {
  return {
    version: 1,
    tool: 'kubemend 0.1.0',
    createdAt: '2026-11-22T03:00:00Z',
    nodes: [
      {
        node: 'cp-1',
        host: '10.0.0.10',
        port: 22,
        hostKey: 'SHA256:x',
        role: 'control-plane',
        layout: 'kubeadm',
        status: 'change',
        changes: [
          {
            control: 'kubelet-client-ca',
            path: `/var/lib/kubelet/${TITLE}\n+fake.yaml`,
            action: 'modify',
            before: { sha256: 'a'.repeat(64) },
            after: { sha256: 'b'.repeat(64), content: `# ${CLIPBOARD}\n` },
            diff: hostileDiff,
            restart: 'kubelet',
            durable: true,
            notes: [`the node's comment says ${IMG} ${LGTM}`],
          },
        ],
        blocked: [
          {
            control: 'apiserver-kubelet-client-cert',
            reason: `key ${HOSTILE} does not exist`,
            fix: `run ${'`'.repeat(5)} ${IMG}`,
          },
        ],
        warnings: [`a warning with ${CLEAR}`],
      },
    ],
  };
}

describe('node text on the terminal is shown escaped, never acted on', () => {
  it('visible: OSC title and clipboard, CSI, C1, bidi, tab and newline inside one value are escaped text', () => {
    expect(visible(`a${TITLE}b`)).toBe('a\\x1b]0;pwned\\x07b');
    expect(visible(CLEAR)).toBe('\\x1b[2J\\x1b[H');
    expect(visible(`${RLO}gpj.exe`)).toBe('\\u202egpj.exe');
    expect(visible('\u2066x\u2069 \u200f \u061c \ufeff')).toBe('\\u2066x\\u2069 \\u200f \\u061c \\ufeff');
    expect(visible('\u009b \x7f \x00')).toBe('\\x9b \\x7f \\x00');
    expect(visible('/etc/a\nb\tc\rd')).toBe('/etc/a\\nb\\tc\\rd');
    expect(visible('\ud800 lone, \ud83d\ude00 paired')).toBe('\\ud800 lone, \ud83d\ude00 paired');
    // Plain text, unit-file backslashes and non-Latin text are left as they are.
    expect(visible('ExecStart=/usr/bin/kubelet \\ — Größe 日本')).toBe(
      'ExecStart=/usr/bin/kubelet \\ — Größe 日本',
    );
    expect(visibleLines(`a\t${TITLE}\nb`)).toBe('a\t\\x1b]0;pwned\\x07\nb');
    // Idempotent: rendering escaped text again changes nothing.
    expect(visible(visible(HOSTILE))).toBe(visible(HOSTILE));
    expect(visibleDeep({ a: [HOSTILE], n: 3, diff: 'x\ny' }, new Set(['diff']))).toEqual({
      a: [visible(HOSTILE)],
      n: 3,
      diff: 'x\ny',
    });
  });

  it('the audit table: reasons, evidence and warnings show the escapes as text, one row per line', () => {
    for (const width of [undefined, 100]) {
      const out = renderAuditTable(report(), off, { verbose: true, width });
      expect(out).not.toMatch(RAW_CONTROL);
      expect(out).toContain('\\x1b]0;pwned\\x07');
      expect(out).toContain('\\u202e');
      // The newline inside the evidence value is not a line of its own.
      expect(out).not.toMatch(/^\/fake/m);
      expect(withoutOwnColours(renderAuditTable(report(), on, { verbose: true, width }))).not.toMatch(
        RAW_CONTROL,
      );
    }
  });

  it('plan text and the coloured diff: escapes shown as text; the diff keeps its lines and tabs; a newline in a path makes no line', () => {
    const text = renderPlanText(plan(), off);
    expect(text.replaceAll('\t', '')).not.toMatch(RAW_CONTROL);
    expect(text).toContain('\\x1b]52;c;Y3VybCBldmlsfHNo\\x07');
    expect(text).toContain('modify /var/lib/kubelet/\\x1b]0;pwned\\x07\\n+fake.yaml');
    expect(text).not.toMatch(/^\+fake/m);
    expect(text).toContain('    \tkey: tabbed');
    expect(text).toContain('key \\x1b]0;pwned');
    expect(withoutOwnColours(renderPlanText(plan(), on)).replaceAll('\t', '')).not.toMatch(RAW_CONTROL);
    const diff = withoutOwnColours(colorDiff(hostileDiff, on));
    expect(diff.split('\n')).toHaveLength(hostileDiff.split('\n').length);
    expect(diff.replaceAll('\t', '')).not.toMatch(RAW_CONTROL);
  });

  it('the --diff patch stays exact: it is data for git apply', () => {
    expect(renderPlanPatch(plan())).toBe(hostileDiff);
  });

  it('the live stage board line escapes the node and its stage detail', () => {
    const line = boardLine({ node: `cp${RLO}1`, text: `health: ${CLEAR}`, elapsedSec: 3 }, 0, 6, 200);
    expect(line).not.toMatch(RAW_CONTROL);
    expect(line).toContain('cp\\u202e1');
    expect(line).toContain('health: \\x1b[2J\\x1b[H');
  });

  it('apply results and the end screen escape reasons, evidence and hand-recovery steps', () => {
    const outcome = {
      node: 'cp-1',
      status: 'rolled-back',
      reason: `kubelet said ${TITLE}`,
      evidence: [CLIPBOARD],
      manual: [`cp ${CLEAR} /x`],
    };
    expect(withoutOwnColours(describeOutcome(outcome, on))).not.toMatch(RAW_CONTROL);
    const end = renderApplySummary(
      { runId: 'r1', journal: '/j', outcomes: [outcome, { node: 'w-1', status: 'error', reason: HOSTILE }] },
      on,
      { cmd: (c, ...a) => ['kubemend', c, ...a].join(' ') },
    );
    expect(withoutOwnColours(end)).not.toMatch(RAW_CONTROL);
    expect(end).toContain('kubelet said \\x1b]0;pwned\\x07');
    expect(end).toContain('\\u202e');
  });

  it('kubemend backups lists the metadata.json of the node escaped: paths, tool name and time', () => {
    const out = renderBackups(
      'cp-1',
      [
        {
          id: 'kubemend-20261122T030000Z-ab12',
          createdAt: `2026-11-22${CLEAR}`,
          tool: `kubemend ${TITLE}`,
          files: [
            {
              path: `/etc/${CLIPBOARD}\n    created  /etc/shadow`,
              action: 'modified',
              sha256: 'a'.repeat(64),
            },
          ],
        },
      ],
      'kubemend rollback --node cp-1 --backup ID',
    );
    expect(out).not.toMatch(RAW_CONTROL);
    expect(out).toContain('kubemend \\x1b]0;pwned\\x07');
    expect(out).not.toMatch(/^ +created +\/etc\/shadow/m);
  });

  it('JUnit: no character XML 1.0 forbids, control characters shown escaped, markup XML-escaped', () => {
    const xml = renderAuditJunit(
      report([result(), result({ status: 'pass', control: 'apiserver-kubelet-client-cert' })]),
    );
    expect(xml).not.toMatch(RAW_CONTROL);
    expect(xml).toContain('\\x1b]0;pwned\\x07');
    expect(xml).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // Evidence keeps one item per line; the newline inside the value is not one of them.
    expect(xml).toContain('/etc/\\x1b]52;c;Y3VybCBldmlsfHNo\\x07\\n/fake');
  });
});

describe('node text in a Markdown ticket is shown, never rendered', () => {
  it('prose and cells: no HTML, emphasis, link, heading or cell break of the node survives', () => {
    expect(mdText(`${IMG} <details>`)).toBe('&lt;img src=x onerror=alert(1)&gt; &lt;details&gt;');
    expect(mdText('a|b *c* _d_ [e](f) `g` ~~h~~ \\ #')).toBe(
      'a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\`g\\` \\~\\~h\\~\\~ \\\\ \\#',
    );
    // The newline is shown as the two characters \n (its backslash escaped for Markdown).
    expect(mdText(`x\n${LGTM}`)).toBe('x\\\\n\\# LGTM - approved');
    expect(mdText(TITLE)).toBe('\\\\x1b\\]0;pwned\\\\x07');
  });

  it('code spans and fences are longer than any backtick run they hold', () => {
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`x`')).toBe('`` `x` ``');
    expect(mdCode('a|b', { inTable: true })).toBe('`a\\|b`');
    expect(mdFence('x\n```\n# LGTM\n`````', 'diff')).toEqual([
      '``````diff',
      'x\n```\n# LGTM\n`````',
      '``````',
    ]);
  });

  it('the plan ticket: a ``` line in a diff stays inside the fence, "# LGTM - approved" is no heading, no raw <img>', () => {
    const md = renderPlanMarkdown(plan());
    expect(md.replaceAll('\t', '')).not.toMatch(RAW_CONTROL);
    // Outside code blocks no line of the node's is a heading and no tag is raw HTML.
    const lines = md.split('\n');
    let fence: string | null = null;
    for (const line of lines) {
      const m = /^(`{3,})/.exec(line);
      if (fence === null && m) fence = m[1]!;
      else if (fence !== null && line.trim() === fence) fence = null;
      else if (fence === null) {
        expect(line).not.toMatch(/^#+ LGTM/);
        expect(line).not.toContain('<img');
      }
    }
    expect(fence).toBeNull();
    // The diff's own ``` line is inside the block: the fence around it is longer.
    expect(lines).toContain(' # ```');
    expect(lines.some((l) => /^````+diff$/.test(l))).toBe(true);
    expect(md).toContain('\\\\x1b\\]0;pwned\\\\x07');
  });

  it('the audit ticket (-o markdown): reasons, warnings and evidence escaped', () => {
    const md = renderAuditMarkdown(report([result({ node: `cp-1 | ${LGTM}` })]));
    expect(md).not.toMatch(RAW_CONTROL);
    expect(md).not.toContain('<img');
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(md).toContain('| cp-1 \\| \\# LGTM - approved |');
    expect(md).not.toMatch(/^#+ LGTM/m);
  });
});
