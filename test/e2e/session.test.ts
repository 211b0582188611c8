import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend } from './cli.js';
import { waitUntil } from './helpers.js';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const canRun = inject('lab') !== undefined;
// Its own lab beside the shared one; KUBEMEND_E2E_LAB keeps two checkouts apart here too.
const LAB = `${process.env['KUBEMEND_E2E_LAB'] || 'e2e'}-tty`;
const SESSION = `kubemend-e2e-${process.pid}`;
const COLUMNS = 100;
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';

/**
 * kubemend in a real terminal: a shell in a 100-column tmux pane, with `kubemend` on its PATH as a
 * user has it; tmux send-keys in, capture-pane out (-J joins wrapped lines, so a line wider than
 * the pane shows as one long line).
 */
describe.skipIf(!canRun)('kubemend in a terminal', () => {
  let lab: Lab;
  let dir: string;
  let runs = 0;
  const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-2000', '-t', SESSION);
  const keys = (...k: string[]) => tmux('send-keys', '-t', SESSION, ...k);
  const waitFor = (text: string | RegExp, ms = 60_000) =>
    waitUntil(
      `the screen to show ${String(text)}`,
      async () => {
        const s = screen();
        return (typeof text === 'string' ? s.includes(text) : text.test(s)) && s;
      },
      ms,
      200,
    );
  /** A fresh shell in a fresh terminal, in the work directory. */
  const startShell = () => {
    try {
      tmux('kill-session', '-t', SESSION);
    } catch {
      // none yet
    }
    tmux(
      'new-session',
      '-d',
      '-s',
      SESSION,
      '-x',
      String(COLUMNS),
      '-y',
      // Few rows, so that the review of the diffs is longer than the screen and goes to the pager.
      '20',
      '-c',
      dir,
      `env -i HOME=${join(dir, 'home')} PATH=${join(dir, 'bin')}:/usr/bin:/bin TERM=xterm-256color KUBEMEND_PAGER="sed 's/^/paged: /'" bash --norc --noprofile`,
    );
    runs = 0;
  };
  /** Types a command line at the shell prompt; returns the marker its exit code will be printed after. */
  const type = (line: string) => {
    const marker = `EXIT-${++runs}=`;
    keys('-l', `${line}; echo ${marker}$?`);
    keys('Enter');
    return marker;
  };
  const exitOf = async (marker: string, ms = 120_000) => {
    const s = await waitFor(new RegExp(`^${marker}\\d+`, 'm'), ms);
    return Number(new RegExp(`^${marker}(\\d+)`, 'm').exec(s)![1]);
  };
  const sha = async () => (await lab.ssh('kubeadm-cp-bad', `sha256sum ${MANIFEST}`)).stdout;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-tty-'));
    lab = await upLab({
      name: LAB,
      nodes: ['kubeadm-cp-bad', 'eks-al2023-dropin-ok', 'flags-bad'],
      replace: true,
    });
    // The inventory without its known_hosts line, in a sub-directory: every command must then carry
    // -i conf/inv.yaml and --known-hosts conf/kh to work.
    mkdirSync(join(dir, 'conf'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(
      join(dir, 'conf', 'inv.yaml'),
      readFileSync(lab.inventoryPath, 'utf8').replace(/, knownHostsFile: "[^"]*"/, ''),
    );
    copyFileSync(lab.knownHostsPath, join(dir, 'conf', 'kh'));
    copyFileSync(lab.inventoryPath, join(dir, 'inventory.yaml'));
    writeFileSync(join(dir, 'bin', 'kubemend'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`);
    chmodSync(join(dir, 'bin', 'kubemend'), 0o755);
  });
  afterAll(async () => {
    try {
      tmux('kill-session', '-t', SESSION);
    } catch {
      // already gone
    }
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the session takes options; its table fits the terminal; the live board moves while a gate waits; the copied undo restores', async () => {
    const reasons = JSON.parse(
      (
        await kubemend([
          'audit',
          '-o',
          'json',
          '-i',
          join(dir, 'conf', 'inv.yaml'),
          '--known-hosts',
          join(dir, 'conf', 'kh'),
        ])
      ).stdout,
    ) as { results: { reason: string }[] };
    const before = await sha();
    startShell();
    const session = type('kubemend -i conf/inv.yaml --known-hosts conf/kh');
    await waitFor('Nodes to audit');
    expect(screen()).toMatch(/kubeadm-cp-bad\s+10\.213/);
    keys('Enter');
    // flags-bad serves anyone: the opt-in controls that close the door are offered, unticked.
    await waitFor(/The kubelet on flags-bad serves anyone .*Close the door too\?/);
    expect(screen()).toMatch(/◯ kubelet-anonymous-auth \(CIS Kubernetes 4\.2\.1, CIS Amazon EKS 3\.2\.1\)/);
    expect(screen()).toMatch(
      /◯ kubelet-authorization-mode \(CIS Kubernetes 4\.2\.2, CIS Amazon EKS 3\.2\.2\)/,
    );
    keys('Enter');
    await waitFor('Findings to fix');
    const audit = screen();
    const table = audit.slice(audit.indexOf('NODE  '), audit.search(/\d+ passed, /));
    expect(table).toMatch(/kubeadm-cp-bad\s+apiserver-kubelet-client-cert\s+FAIL/);
    expect(table).toMatch(/eks-al2023-dropin-ok\s+kubelet-client-ca\s+PASS/);
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(COLUMNS);
    // No word of any reason is cut: each one is on the screen whole.
    const shown = new Set(audit.split(/\s+/));
    for (const w of reasons.results.flatMap((r) => r.reason.split(/\s+/)).filter(Boolean))
      expect(shown).toContain(w);
    // The per-node progress lines were cleared when the table came.
    expect(audit).not.toMatch(/^\s+\S+: read$/m);
    expect(audit).toMatch(/flags-bad: kubelet-client-ca/);

    // Untick flags-bad's finding: the end screen must name it as left, with the command for later.
    keys('Down', 'Down', 'Space', 'Enter');
    await waitFor(/Apply 2 change\(s\) to 1 node\(s\)\?/);
    const review = screen();
    expect(review).toContain('space shows more, q comes back to kubemend');
    expect(review).toContain(
      'paged: +    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt',
    );
    expect(await sha()).toBe(before);
    keys('y', 'Enter');

    // The live board: the health wait's line counts up while the gate waits.
    const seen = new Set<string>();
    await waitUntil(
      'the health line to change while it waits',
      async () => {
        const m = /kubeadm-cp-bad {2}health: [^\n]*· (\d+) s/.exec(screen());
        if (m) seen.add(m[1]!);
        return seen.size >= 2;
      },
      120_000,
      150,
    );
    expect(await exitOf(session)).toBe(0);
    const end = screen();
    expect(end.match(/kubeadm-cp-bad: applied, healthy and re-audited/g)).toHaveLength(1);
    expect(end).not.toMatch(/stopped at the first node/);
    expect(end).toContain('flags-bad: kubelet-client-ca: unticked, not changed');
    expect(end).toContain(
      'later: kubemend apply -i conf/inv.yaml --known-hosts conf/kh -l flags-bad --controls kubelet-client-ca',
    );
    expect(end).toMatch(/kubeadm-cp-bad: \/var\/lib\/kubemend\/backups\/\S+ on kubeadm-cp-bad/);
    const after = await sha();
    expect(after).not.toBe(before);

    // The undo, copied from the screen as printed, in a new terminal in the same directory.
    const undo = /undo: (kubemend rollback .*)$/m.exec(end)![1]!.trim();
    expect(undo).toMatch(
      /^kubemend rollback -i conf\/inv\.yaml --known-hosts conf\/kh --node kubeadm-cp-bad --backup \S+$/,
    );
    startShell();
    const rollback = type(undo);
    await waitFor(/Restore kubeadm-cp-bad to backup \S+\?/);
    keys('y', 'Enter');
    expect(await exitOf(rollback)).toBe(0);
    expect(screen()).toContain('kubeadm-cp-bad: restored to backup');
    expect(await sha()).toBe(before);
  });

  it('ticked, the door controls are planned with the client CA as one finding, and the apiserver pair they need', async () => {
    startShell();
    const session = type('kubemend -l kubeadm-cp-bad,flags-bad');
    await waitFor('Nodes to audit');
    keys('Enter');
    await waitFor(/Close the door too\?/);
    keys('a', 'Enter');
    await waitFor('Findings to fix');
    const findings = screen().slice(screen().lastIndexOf('Findings to fix'));
    expect(findings).toMatch(/◉ kubeadm-cp-bad: apiserver-kubelet-client-cert/);
    expect(findings).toMatch(
      /◉ flags-bad: kubelet-client-ca\+kubelet-anonymous-auth\+kubelet-authorization-mode/,
    );
    keys('C-c');
    expect(await exitOf(session)).toBe(130);
    expect(screen()).toContain('no node was changed');
  });

  it('-l narrows the nodes the session offers; Ctrl-C at a prompt exits 130 and says that no node was changed', async () => {
    const r = await lab.ssh('kubeadm-cp-bad', 'ls /var/lib/kubemend/backups | wc -l');
    startShell();
    const session = type('kubemend -l kubeadm-cp-bad,flags-bad');
    await waitFor('Nodes to audit');
    expect(screen()).toMatch(/kubeadm-cp-bad\s+10\.213/);
    expect(screen()).toMatch(/flags-bad\s+10\.213/);
    expect(screen()).not.toContain('eks-al2023-dropin-ok');
    keys('C-c');
    expect(await exitOf(session)).toBe(130);
    expect(screen()).toContain('no node was changed');
    expect((await lab.ssh('kubeadm-cp-bad', 'ls /var/lib/kubemend/backups | wc -l')).stdout).toBe(r.stdout);
  });

  it('kubemend apply with options before the command asks per node: abort (130), show more, skip (1), then apply (0)', async () => {
    const dropIn = '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf';
    const exists = async () => (await lab.ssh('flags-bad', `test -e ${dropIn}`)).code === 0;
    startShell();
    const aborted = type('kubemend --no-color -l flags-bad apply');
    await waitFor('Apply these changes to flags-bad?');
    keys('Down', 'Down', 'Down', 'Enter'); // abort the rollout
    expect(await exitOf(aborted)).toBe(130);
    expect(screen()).toContain('aborted at the prompt: no further node was started');
    expect(await exists()).toBe(false);

    startShell();
    const skipped = type('kubemend --no-color -l flags-bad apply');
    await waitFor('Apply these changes to flags-bad?');
    expect(screen()).toContain(`+++ b/flags-bad${dropIn}`);
    expect(screen()).toContain('restarts: systemctl daemon-reload, then restart the kubelet');
    keys('Down', 'Down', 'Enter'); // show more
    await waitFor('Environment="KUBELET_EXTRA_ARGS=--client-ca-file=/etc/kubernetes/pki/ca.crt"');
    await waitFor(/Apply these changes to flags-bad\?[\s\S]*Apply these changes to flags-bad\?/);
    keys('Down', 'Enter'); // skip this node
    expect(await exitOf(skipped)).toBe(1);
    expect(screen()).toMatch(/later: kubemend apply -l flags-bad/);
    expect(await exists()).toBe(false);

    startShell();
    const applied = type('kubemend --no-color -l flags-bad apply');
    await waitFor('Apply these changes to flags-bad?');
    keys('Enter'); // apply
    expect(await exitOf(applied)).toBe(0);
    const end = screen();
    expect(end.match(/flags-bad: applied, healthy and re-audited/g)).toHaveLength(1);
    expect(end).toMatch(/undo: kubemend rollback --node flags-bad --backup \S+/);
    expect(await exists()).toBe(true);
  });
});
