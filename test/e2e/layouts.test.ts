// Issue 11 end to end: a kubelet configured only on its command line (kubeadm's external-etcd
// drop-in; every flag in a packaged unit) and the AKS and GKE layouts, each planned, applied,
// re-audited, probed with client certificates from the node's CA and from a foreign CA, and rolled
// back to the original bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import type { AuditResult } from '../../src/controls/types.js';
import { downLab, rebootNode, upLab, type Lab } from '../lab/lab.js';
import { kubemend, type CliResult } from './cli.js';
import { shq, waitUntil } from './helpers.js';

const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-layouts`;
const NODES = ['etcd-bad', 'cmdline-pkg-bad', 'aks-bad', 'gke-bad'];

const KUBEADM_CA = '/etc/kubernetes/pki/ca.crt';
const ETCD_DROPIN = '/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf';
const KUBEMEND_DROPIN = '/etc/systemd/system/kubelet.service.d/90-kubemend-kubelet.conf';
const PKG_UNIT = '/usr/lib/systemd/system/kubelet.service';
const AKS_CONFIG = '/etc/default/kubeletconfig.json';
const AKS_CA = '/etc/kubernetes/certs/ca.crt';
const GKE_ENV = '/etc/default/kubelet';
const GKE_CA = '/etc/srv/kubernetes/pki/ca-certificates.crt';
/** Where the probe certificates go on each node (out of every directory kubemend reads). */
const PROBE = '/root/km-probe';

interface PlanChange {
  control: string;
  path: string;
  action: 'modify' | 'create';
  before: { sha256: string } | null;
  after: { sha256: string; content: string };
  diff: string;
  restart: string;
  durable: boolean;
  notes: string[];
}
interface PlanFile {
  nodes: { node: string; status: string; changes: PlanChange[]; blocked: unknown[] }[];
}

/** The lines a unified diff removes and adds (headers left out). */
const changedLines = (diff: string) => {
  const lines = diff.split('\n');
  return {
    removed: lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).map((l) => l.slice(1)),
    added: lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1)),
  };
};

/** The ExecStart= line that starts a command and its backslash continuations, as written. */
const execStartBlock = (unit: string): string[] => {
  const lines = unit.split('\n');
  const start = lines.findIndex((l) => /^ExecStart=\S/.test(l));
  const block: string[] = [];
  for (let i = start; i >= 0 && i < lines.length; i++) {
    const line = lines[i] ?? '';
    block.push(line);
    // A comment line inside a continued command does not end it (systemd skips it).
    if (!line.endsWith('\\') && !/^\s*#/.test(line)) break;
  }
  return block;
};

describe.skipIf(!canRun)('issue 11 layouts on the lab: command-line-only kubelets, AKS, GKE', () => {
  let lab: Lab;
  let dir: string;
  let home: string;
  const run = (args: string[]): Promise<CliResult> =>
    kubemend(
      [
        ...args,
        '-i',
        lab.inventoryPath,
        ...(['apply', 'rollback'].includes(args[0] ?? '') ? ['--journal', join(dir, 'journal.jsonl')] : []),
      ],
      { home },
    );
  const ssh = async (node: string, command: string, input?: string) => {
    const r = await lab.ssh(node, command, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`${node}: ${command}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const sha = async (node: string, path: string) =>
    (await ssh(node, `sha256sum < ${shq(path)}`)).split(' ')[0];
  const exists = async (node: string, path: string) =>
    (await ssh(node, `test -e ${shq(path)} && echo yes || echo no`)).trim() === 'yes';
  const mainPid = async (node: string) =>
    Number((await ssh(node, 'systemctl show -p MainPID --value kubelet')).trim());
  const cmdline = async (node: string) =>
    (await ssh(node, 'tr "\\0" "\\n" < /proc/$(systemctl show -p MainPID --value kubelet)/cmdline'))
      .split('\n')
      .filter(Boolean);
  /** The HTTP status of the kubelet's authenticated /healthz for a client cert (`foreign` or `cluster`). */
  const probe = async (node: string, who: 'foreign' | 'cluster') =>
    (
      await ssh(
        node,
        `curl -sk --cert ${PROBE}/${who}.crt --key ${PROBE}/${who}.key -o /dev/null -w '%{http_code}' https://127.0.0.1:10250/healthz`,
      )
    ).trim();
  /** The kubelet answers on 10250 again (any HTTP status) after a restart. */
  const serving = (node: string) =>
    waitUntil(
      `${node} kubelet on 10250`,
      async () =>
        /^[2-5]\d\d$/.test(
          (
            await lab.ssh(
              node,
              "curl -sk -o /dev/null -w '%{http_code}' -m 2 https://127.0.0.1:10250/healthz",
            )
          ).stdout,
        ),
      60_000,
    );
  const kubeletResult = async (node: string): Promise<AuditResult> => {
    const r = await run(['audit', '-l', node, '-o', 'json']);
    const report = JSON.parse(r.stdout) as { results: AuditResult[] };
    const result = report.results.find((x) => x.node === node && x.control === 'kubelet-client-ca');
    if (!result) throw new Error(`no kubelet-client-ca result for ${node}: ${r.stdout}${r.stderr}`);
    return result;
  };
  /** The plan of one node: exactly one change, of `path`, for the kubelet control; nothing blocked. */
  const planOf = async (node: string, path: string): Promise<PlanChange> => {
    const file = join(dir, `${node}.plan.json`);
    const r = await run(['plan', '-l', node, '--out', file]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(1);
    const plan = JSON.parse(readFileSync(file, 'utf8')) as PlanFile;
    expect(plan.nodes).toHaveLength(1);
    expect(plan.nodes[0]?.blocked).toEqual([]);
    expect(plan.nodes[0]?.changes.map((c) => [c.control, c.path])).toEqual([['kubelet-client-ca', path]]);
    return plan.nodes[0]!.changes[0]!;
  };
  /** The plan of a node whose one file is modified in place: the change, with the file's sha256 as it is. */
  const planModify = async (node: string, path: string, restart: string) => {
    const original = await sha(node, path);
    const change = await planOf(node, path);
    expect([change.action, change.before?.sha256, change.restart]).toEqual(['modify', original, restart]);
    return { change, original };
  };
  const apply = async (node: string, changed: string) => {
    const r = await run(['apply', '--plan', join(dir, `${node}.plan.json`), '--yes', '-o', 'json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as ApplyReport).outcomes).toMatchObject([
      { node, status: 'applied', changed: [changed] },
    ]);
  };
  /** After the fix: the re-audit passes, a foreign CA's cert gets 401, the cluster CA's is served. */
  const fixed = async (node: string, ca: string) => {
    const result = await kubeletResult(node);
    expect(result.status).toBe('pass');
    expect(result.reason).toContain(ca);
    expect(result.evidence.length).toBeGreaterThan(0);
    await serving(node);
    expect(await probe(node, 'foreign')).toBe('401');
    expect(['200', '403']).toContain(await probe(node, 'cluster'));
  };
  const rollback = async (node: string) => {
    const r = await run(['rollback', '--node', node, '--yes']);
    expect(r.stderr).not.toMatch(/internal error|failed/);
    expect(r.code).toBe(0);
    await serving(node);
  };
  /** After `systemctl daemon-reload` and a kubelet restart the fix holds: it is in the unit files, not just in memory. */
  const survivesReload = async (node: string, flag: string) => {
    const pid = await mainPid(node);
    await ssh(node, 'systemctl daemon-reload && systemctl restart kubelet');
    await waitUntil(`${node} a new kubelet`, async () => {
      const now = await mainPid(node);
      return now !== pid && now > 0;
    });
    await serving(node);
    expect(await cmdline(node)).toContain(flag);
    expect(await probe(node, 'foreign')).toBe('401');
    expect((await kubeletResult(node)).status).toBe('pass');
  };

  /** After a reboot of the node (clean power-off, boot from the same disk) the fix holds as well. */
  const survivesReboot = async (node: string, flag: string) => {
    const booted = () => ssh(node, 'systemctl show -p UserspaceTimestamp --value');
    const before = await booted();
    await ssh(node, 'touch /run/km-before-reboot');
    await rebootNode(LAB, node, { log: (l) => console.log(`[lab ${LAB}] ${l}`) });
    // A new boot: systemd started again, and /run (a tmpfs) is empty of what the last boot left.
    expect(await booted()).not.toBe(before);
    expect(await exists(node, '/run/km-before-reboot')).toBe(false);
    await serving(node);
    expect(await cmdline(node)).toContain(flag);
    expect(await probe(node, 'foreign')).toBe('401');
    expect((await kubeletResult(node)).status).toBe('pass');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-layouts-'));
    home = join(dir, 'home');
    lab = await upLab({
      name: LAB,
      nodes: NODES,
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
    // A throwaway CA the nodes have never seen, and a client cert from it that claims system:masters.
    const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    // prettier-ignore
    o(['req', '-x509', ...ec, '-keyout', 'foreign-ca.key', '-out', 'foreign-ca.crt', '-days', '1', '-subj', '/CN=foreign-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyCertSign']);
    o([
      'req',
      '-new',
      ...ec,
      '-keyout',
      'foreign.key',
      '-out',
      'foreign.csr',
      '-subj',
      '/O=system:masters/CN=intruder',
    ]);
    writeFileSync(
      join(dir, 'client.ext'),
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
    // prettier-ignore
    o(['x509', '-req', '-in', 'foreign.csr', '-CA', 'foreign-ca.crt', '-CAkey', 'foreign-ca.key', '-set_serial', '0x4b4d',
      '-days', '1', '-extfile', 'client.ext', '-out', 'foreign.crt']);
    // The other client: the apiserver's kubelet client cert, signed by the lab's cluster CA.
    const certs: Record<string, string> = {
      'foreign.crt': readFileSync(join(dir, 'foreign.crt'), 'utf8'),
      'foreign.key': readFileSync(join(dir, 'foreign.key'), 'utf8'),
      'cluster.crt': readFileSync(join(lab.pkiDir, 'apiserver-kubelet-client.crt'), 'utf8'),
      'cluster.key': readFileSync(join(lab.pkiDir, 'apiserver-kubelet-client.key'), 'utf8'),
    };
    for (const node of NODES)
      for (const [name, pem] of Object.entries(certs))
        await ssh(node, `umask 077 && mkdir -p ${PROBE} && cat > ${PROBE}/${name}`, pem);
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it('kubeadm external-etcd node: one ExecStart line gains --client-ca-file in its own drop-in; survives daemon-reload and a reboot; rollback restores', async () => {
    const node = 'etcd-bad';
    // As booted: no client CA, legacy defaults (anonymous on, AlwaysAllow): a foreign cert is served.
    expect(await probe(node, 'foreign')).toBe('200');

    const { change, original } = await planModify(node, ETCD_DROPIN, 'kubelet+daemon-reload');
    const { removed, added } = changedLines(change.diff);
    expect(removed).toEqual([
      'ExecStart=/usr/bin/kubelet --address=127.0.0.1 --pod-manifest-path=/etc/kubernetes/manifests --cgroup-driver=systemd',
    ]);
    expect(added).toEqual([`${removed[0]} --client-ca-file=${KUBEADM_CA}`]);
    expect(change.notes.join('\n')).toContain(`${ETCD_DROPIN} is edited in place`);
    // The open door stays open, and the plan says so.
    expect(change.notes.join('\n')).toMatch(/still serves anyone.*CIS 4\.2\.1.*CIS 4\.2\.2/s);

    await apply(node, ETCD_DROPIN);
    expect(await cmdline(node)).toContain(`--client-ca-file=${KUBEADM_CA}`);
    await fixed(node, KUBEADM_CA);
    const result = await kubeletResult(node);
    expect(result.evidence.map((e) => e.source)).toContain(ETCD_DROPIN);
    expect(result.evidence.some((e) => /^\/proc\/\d+\/cmdline$/.test(e.source))).toBe(true);

    await survivesReload(node, `--client-ca-file=${KUBEADM_CA}`);
    await survivesReboot(node, `--client-ca-file=${KUBEADM_CA}`);

    await rollback(node);
    expect(await sha(node, ETCD_DROPIN)).toBe(original);
    expect(await cmdline(node)).not.toContain(`--client-ca-file=${KUBEADM_CA}`);
    expect(await probe(node, 'foreign')).toBe('200');
    expect((await kubeletResult(node)).status).toBe('fail');
  });

  it('every flag in a packaged unit: a kubemend drop-in repeats the command line plus the flag, with its note; survives daemon-reload and a reboot; rollback deletes it', async () => {
    const node = 'cmdline-pkg-bad';
    const unit = await ssh(node, `cat ${PKG_UNIT}`);
    const unitSha = await sha(node, PKG_UNIT);
    expect(await exists(node, KUBEMEND_DROPIN)).toBe(false);
    const dropInDir = KUBEMEND_DROPIN.slice(0, KUBEMEND_DROPIN.lastIndexOf('/'));
    expect(await exists(node, dropInDir)).toBe(false);
    // As booted: anonymous off and no x509 authenticator, so even the cluster CA's cert is refused.
    expect(await probe(node, 'cluster')).toBe('401');

    const change = await planOf(node, KUBEMEND_DROPIN);
    expect([change.action, change.before, change.restart]).toEqual(['create', null, 'kubelet+daemon-reload']);
    const notes = change.notes.join('\n');
    expect(notes).toMatch(/kubelet\.service belongs to the OS packages/);
    expect(notes).toContain(`kubemend writes its own drop-in ${KUBEMEND_DROPIN}`);
    const { removed, added } = changedLines(change.diff);
    expect(removed).toEqual([]);
    expect(added.join('\n') + '\n').toBe(change.after.content);
    const dropIn = change.after.content.split('\n');
    // Resets ExecStart=, then the packaged command line, as written, with one line more: the flag.
    const reset = dropIn.indexOf('ExecStart=');
    expect(reset).toBeGreaterThan(dropIn.indexOf('[Service]'));
    const block = execStartBlock(dropIn.slice(reset + 1).join('\n'));
    const flagLine = `  --client-ca-file=${KUBEADM_CA} \\`;
    expect(block.filter((l) => l === flagLine)).toHaveLength(1);
    expect(block.filter((l) => l !== flagLine)).toEqual(execStartBlock(unit));

    await apply(node, KUBEMEND_DROPIN);
    expect(await sha(node, PKG_UNIT)).toBe(unitSha);
    expect(await cmdline(node)).toContain(`--client-ca-file=${KUBEADM_CA}`);
    await fixed(node, KUBEADM_CA);

    await survivesReload(node, `--client-ca-file=${KUBEADM_CA}`);
    await survivesReboot(node, `--client-ca-file=${KUBEADM_CA}`);

    await rollback(node);
    expect(await exists(node, KUBEMEND_DROPIN)).toBe(false);
    // The drop-in directory the apply made is gone too: the node is as it was.
    expect(await exists(node, dropInDir)).toBe(false);
    expect(await sha(node, PKG_UNIT)).toBe(unitSha);
    expect(await cmdline(node)).not.toContain(`--client-ca-file=${KUBEADM_CA}`);
    expect(await probe(node, 'cluster')).toBe('401');
  });

  it('AKS: kubeletconfig.json gains its x509 block and nothing else; rollback restores the bytes', async () => {
    const node = 'aks-bad';
    expect(await probe(node, 'cluster')).toBe('401');

    const { change, original } = await planModify(node, AKS_CONFIG, 'kubelet');
    // AgentBaker writes kubeletconfig.json when it provisions the node, not at boot.
    expect(change.durable).toBe(true);
    expect(changedLines(change.diff)).toEqual({
      removed: ['        "anonymous": {}'],
      added: [
        '        "anonymous": {},',
        '        "x509": {',
        `            "clientCAFile": "${AKS_CA}"`,
        '        }',
      ],
    });

    await apply(node, AKS_CONFIG);
    await fixed(node, AKS_CA);

    await rollback(node);
    expect(await sha(node, AKS_CONFIG)).toBe(original);
    expect(await probe(node, 'cluster')).toBe('401');
    expect((await kubeletResult(node)).status).toBe('fail');
  });

  it('GKE with its config file off: KUBELET_OPTS gains one flag in /etc/default/kubelet; rollback restores the bytes', async () => {
    const node = 'gke-bad';
    // Legacy defaults (no --config): anonymous on, AlwaysAllow, no client CA.
    expect(await probe(node, 'foreign')).toBe('200');

    const { change, original } = await planModify(node, GKE_ENV, 'kubelet');
    const { removed, added } = changedLines(change.diff);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^KUBELET_OPTS="--v=2 .* "$/);
    expect(added).toEqual([removed[0]!.replace(/ "$/, ` --client-ca-file=${GKE_CA} "`)]);
    expect(change.notes.join('\n')).toMatch(/still serves anyone/);
    // configure-helper.sh writes /etc/default/kubelet again at every boot: the reviewer reads so.
    expect(change.durable).toBe(false);
    expect(change.notes.join('\n')).toMatch(
      /configure-helper\.sh writes \/etc\/default\/kubelet .* at every boot .*lasts until the next reboot.*node pool's kubelet configuration/,
    );

    await apply(node, GKE_ENV);
    expect(await cmdline(node)).toContain(`--client-ca-file=${GKE_CA}`);
    await fixed(node, GKE_CA);

    await rollback(node);
    expect(await sha(node, GKE_ENV)).toBe(original);
    expect(await probe(node, 'foreign')).toBe('200');
  });
});
