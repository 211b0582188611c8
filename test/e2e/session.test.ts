import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { waitUntil } from './helpers.js';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-tty`;
const SESSION = `kubemend-e2e-${process.pid}`;

/** The interactive session, driven in a real terminal: tmux send-keys in, capture-pane out. */
describe.skipIf(!canRun)('kubemend with no arguments, in a terminal', () => {
  let lab: Lab;
  let dir: string;
  const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', SESSION);
  /** `kubemend` with no arguments in a fresh 200×60 terminal, as a user would start it. */
  const startKubemend = (args = '') =>
    tmux(
      'new-session',
      '-d',
      '-s',
      SESSION,
      '-x',
      '200',
      '-y',
      '60',
      '-c',
      dir,
      `env HOME=${join(dir, 'home')} ${process.execPath} ${BIN} ${args}; echo KUBEMEND-EXIT=$?; sleep 300`,
    );
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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-tty-'));
    lab = await upLab({
      name: LAB,
      nodes: ['kubeadm-cp-bad', 'eks-al2023-dropin-ok', 'flags-bad'],
      replace: true,
    });
    copyFileSync(lab.inventoryPath, join(dir, 'inventory.yaml'));
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

  it('goes from node choice through audit, findings, diffs and confirmation to an applied node', async () => {
    const sha = async () =>
      (await lab.ssh('kubeadm-cp-bad', 'sha256sum /etc/kubernetes/manifests/kube-apiserver.yaml')).stdout;
    const before = await sha();
    startKubemend();
    await waitFor('Nodes to audit');
    expect(screen()).toMatch(/kubeadm-cp-bad\s+10\.213/);
    tmux('send-keys', '-t', SESSION, 'Enter');
    await waitFor('Findings to fix');
    const audit = screen();
    expect(audit).toMatch(/kubeadm-cp-bad\s+apiserver-kubelet-client-cert\s+FAIL/);
    expect(audit).toMatch(/eks-al2023-dropin-ok\s+kubelet-client-ca\s+PASS/);
    expect(audit).toMatch(/flags-bad: kubelet-client-ca/);
    // Untick the third finding (flags-bad): the next test applies that node through `kubemend apply`.
    tmux('send-keys', '-t', SESSION, 'Down', 'Down', 'Space', 'Enter');
    await waitFor(/Apply 2 change\(s\) to 1 node\(s\)\?/);
    expect(screen()).toContain(
      '+    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt',
    );
    expect(await sha()).toBe(before);
    tmux('send-keys', '-t', SESSION, 'y', 'Enter');
    const done = await waitFor(/KUBEMEND-EXIT=\d+/, 120_000);
    expect(done).toContain('KUBEMEND-EXIT=0');
    expect(done).toMatch(/kubemend rollback --node kubeadm-cp-bad --backup \S+/);
    expect(await sha()).not.toBe(before);
  });

  it('Ctrl-C at a prompt leaves every node untouched', async () => {
    tmux('kill-session', '-t', SESSION);
    const r = await lab.ssh('kubeadm-cp-bad', 'ls /var/lib/kubemend/backups | wc -l');
    startKubemend();
    await waitFor('Nodes to audit');
    tmux('send-keys', '-t', SESSION, 'C-c');
    const out = await waitFor(/KUBEMEND-EXIT=\d+/);
    expect(out).toContain('no node was changed');
    expect((await lab.ssh('kubeadm-cp-bad', 'ls /var/lib/kubemend/backups | wc -l')).stdout).toBe(r.stdout);
  });
  it('kubemend apply on a terminal asks per node: show more, skip, then apply', async () => {
    tmux('kill-session', '-t', SESSION);
    const dropIn = '/etc/systemd/system/kubelet.service.d/90-kubemend-client-ca.conf';
    const exists = async () => (await lab.ssh('flags-bad', `test -e ${dropIn}`)).code === 0;
    startKubemend('apply -l flags-bad');
    await waitFor('Apply these changes to flags-bad?');
    expect(screen()).toContain(`+++ b/flags-bad${dropIn}`);
    expect(screen()).toContain('restarts: systemctl daemon-reload, then restart the kubelet');
    tmux('send-keys', '-t', SESSION, 'Down', 'Down', 'Enter'); // show more
    await waitFor('Environment="KUBELET_EXTRA_ARGS=--client-ca-file=/etc/kubernetes/pki/ca.crt"');
    await waitFor(/Apply these changes to flags-bad\?[\s\S]*Apply these changes to flags-bad\?/);
    tmux('send-keys', '-t', SESSION, 'Down', 'Enter'); // skip this node
    expect(await waitFor(/KUBEMEND-EXIT=\d+/)).toContain('KUBEMEND-EXIT=1');
    expect(await exists()).toBe(false);

    tmux('kill-session', '-t', SESSION);
    startKubemend('apply -l flags-bad');
    await waitFor('Apply these changes to flags-bad?');
    tmux('send-keys', '-t', SESSION, 'Enter'); // apply
    const done = await waitFor(/KUBEMEND-EXIT=\d+/, 120_000);
    expect(done).toContain('KUBEMEND-EXIT=0');
    expect(done).toMatch(/flags-bad: applied, healthy and re-audited/);
    expect(await exists()).toBe(true);
  });
});
