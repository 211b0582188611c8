import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApplyReport } from '../../src/commands/apply.js';
import type { AuditResult } from '../../src/controls/types.js';
import type { PlanFile } from '../../src/plan/types.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend, type CliResult } from './cli.js';
import { labShell, shq, waitUntil } from './helpers.js';

// A non-root user of a node runs a fake kubelet and a fake kube-apiserver, with flags and files of
// their choosing, and so does root in a container (a CI job's docker-*.scope) and in a pod
// (kubepods, not a static pod): kubemend must judge, plan, gate and roll back the node's real
// processes only.
// Changes nodes, so it brings a lab of its own.
const canRun = inject('lab') !== undefined;
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-hostile`;
const NODE = 'kubeadm-cp-bad';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';
const EVIL = '/tmp/evil';
const EVIL_FILES = [`${EVIL}/k.yaml`, `${EVIL}/c.crt`, `${EVIL}/c.key`];
// Root's fakes: a container's kubelet with a config in a root-owned place, a pod's kube-apiserver
// carrying the real kubelet client pair's paths (which the real kube-apiserver does not use yet).
const ROOT_EV = '/tmp/ev';
const ROOT_CONFIG = '/etc/evil/k.yaml';
const REAL_PAIR = '/etc/kubernetes/pki/apiserver-kubelet-client';

describe.skipIf(!canRun)(
  'a hostile node user cannot steer kubemend with processes named like the components',
  () => {
    let lab: Lab;
    let dir: string;
    let sh: ReturnType<typeof labShell>;
    const fakes = { kubelet: 0, apiserver: 0, rootKubelet: 0, rootApiserver: 0 };
    const evilSha: Record<string, string> = {};

    const run = (args: string[]): Promise<CliResult> =>
      kubemend([...args, '-i', lab.inventoryPath, '-l', NODE], { home: join(dir, 'home') });
    /** The real component's pids: root, and not one of root's fakes. */
    const rootPids = async (comm: string) =>
      (await sh.ssh(NODE, `pgrep -x -u 0 ${comm} || true`))
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .filter((p) => p !== fakes.rootKubelet && p !== fakes.rootApiserver);

    /** As nobody: a copy of dash under the component's name, looping, with the given argv. */
    const startFake = async (name: string, args: string[]): Promise<number> => {
      const argv = [`${EVIL}/${name}`, '-c', 'while :; do sleep 5; done', name, ...args].map(shq).join(' ');
      const pid = await sh.ssh(
        NODE,
        `setpriv --reuid=nobody --regid=nogroup --clear-groups -- setsid ${argv} </dev/null >/dev/null 2>&1 & echo $!`,
      );
      return Number(pid.trim());
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-hostile-'));
      lab = await upLab({
        name: LAB,
        nodes: [NODE],
        replace: true,
        log: (l) => console.log(`[lab ${LAB}] ${l}`),
      });
      sh = labShell(lab);
      // The attacker's files: a kubelet config without a client CA (a change plan would want to
      // make) and a key pair of their own, all theirs.
      await sh.ssh(
        NODE,
        [
          `mkdir -p ${EVIL}`,
          `cp /bin/dash ${EVIL}/kubelet`,
          `cp /bin/dash ${EVIL}/kube-apiserver`,
          `printf 'apiVersion: kubelet.config.k8s.io/v1beta1\\nkind: KubeletConfiguration\\nauthentication:\\n  anonymous:\\n    enabled: true\\n' > ${EVIL}/k.yaml`,
          `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=evil -days 2 -keyout ${EVIL}/c.key -out ${EVIL}/c.crt 2>/dev/null`,
          `chown -R nobody:nogroup ${EVIL}`,
        ].join(' && '),
      );
      for (const f of EVIL_FILES) evilSha[f] = (await sh.sha(NODE, f)) ?? '';
      fakes.kubelet = await startFake('kubelet', [`--config=${EVIL}/k.yaml`]);
      fakes.apiserver = await startFake('kube-apiserver', [
        `--kubelet-client-certificate=${EVIL}/c.crt`,
        `--kubelet-client-key=${EVIL}/c.key`,
        '--secure-port=6443',
      ]);
      // As root: `systemd-run` as a container engine and the kubelet's systemd cgroup driver would.
      await sh.ssh(
        NODE,
        [
          `mkdir -p ${ROOT_EV} /etc/evil`,
          `cp /bin/dash ${ROOT_EV}/kubelet`,
          `cp /bin/dash ${ROOT_EV}/kube-apiserver`,
          `cp ${EVIL}/k.yaml ${ROOT_CONFIG}`,
          `test -f ${REAL_PAIR}.crt && test -f ${REAL_PAIR}.key`,
        ].join(' && '),
      );
      evilSha[ROOT_CONFIG] = (await sh.sha(NODE, ROOT_CONFIG)) ?? '';
      const loop = shq('while :; do sleep 5; done');
      await sh.ssh(
        NODE,
        `setsid systemd-run --quiet --scope --unit=docker-0123abcd.scope -- ${ROOT_EV}/kubelet -c ${loop} kubelet --config=${ROOT_CONFIG} </dev/null >/dev/null 2>&1 &`,
      );
      await sh.ssh(
        NODE,
        `systemd-run --quiet --unit=evil-api --slice=kubepods-besteffort-podabc.slice -- ${ROOT_EV}/kube-apiserver -c ${loop} kube-apiserver --kubelet-client-certificate=${REAL_PAIR}.crt --kubelet-client-key=${REAL_PAIR}.key --secure-port=6443`,
      );
      await waitUntil(
        "root's fakes to run",
        async () => {
          fakes.rootKubelet = Number(
            (
              await sh.ssh(
                NODE,
                'for p in $(pgrep -x -u 0 kubelet); do grep -q docker-0123abcd.scope /proc/$p/cgroup && echo $p; done; true',
              )
            )
              .trim()
              .split('\n')[0] || 0,
          );
          fakes.rootApiserver = Number(
            (await sh.ssh(NODE, 'systemctl show -p MainPID --value evil-api')).trim(),
          );
          return fakes.rootKubelet > 0 && fakes.rootApiserver > 0;
        },
        30_000,
      );
      expect(
        await sh.ssh(NODE, `cat /proc/${fakes.rootKubelet}/comm /proc/${fakes.rootApiserver}/comm`),
      ).toBe('kubelet\nkube-apiserver\n');
      expect(
        await sh.ssh(
          NODE,
          `grep -h name=systemd /proc/${fakes.rootKubelet}/cgroup /proc/${fakes.rootApiserver}/cgroup`,
        ),
      ).toMatch(
        /^\d+:name=systemd:.*\/system\.slice\/docker-0123abcd\.scope\n\d+:name=systemd:.*\/kubepods\.slice\/kubepods-besteffort\.slice\/kubepods-besteffort-podabc\.slice\/evil-api\.service\n$/,
      );
      // The real ones start again after the fakes, so that the fakes come first in /proc.
      const [oldApi] = await rootPids('kube-apiserver');
      // The lab's static pod runs where the systemd cgroup driver puts a pod, outside kubelet.service,
      // so a kubelet restart leaves it running.
      expect(await sh.ssh(NODE, `grep name=systemd /proc/${oldApi}/cgroup`)).toMatch(
        /\/kubepods\.slice\/kubepods-burstable\.slice\/kubepods-burstable-pod[0-9a-f]{32}\.slice\/kubelet-pod-kube-apiserver-/,
      );
      await sh.ssh(NODE, 'systemctl restart kubelet');
      expect(await rootPids('kube-apiserver')).toEqual([oldApi]);
      await sh.ssh(NODE, `kill ${oldApi ?? ''}`);
      await waitUntil(
        'the real kube-apiserver to run again',
        async () => {
          const pids = await rootPids('kube-apiserver');
          return (
            pids.length === 1 &&
            pids[0] !== oldApi &&
            (await lab.ssh(NODE, 'curl -sk https://127.0.0.1:6443/livez')).stdout === 'ok'
          );
        },
        90_000,
      );
      await waitUntil(
        'the kubelet healthz',
        async () => (await lab.ssh(NODE, 'curl -sf http://127.0.0.1:10248/healthz')).stdout === 'ok',
        60_000,
      );
      const uids = await sh.ssh(NODE, `ps -o uid= -p ${fakes.kubelet} -p ${fakes.apiserver}`);
      expect(
        uids
          .split('\n')
          .filter(Boolean)
          .map((u) => u.trim()),
      ).toEqual(['65534', '65534']);
      expect(fakes.kubelet).toBeLessThan((await rootPids('kubelet'))[0] ?? 0);
      expect(fakes.apiserver).toBeLessThan((await rootPids('kube-apiserver'))[0] ?? 0);
    }, 300_000);

    afterAll(async () => {
      if (lab) await downLab(LAB);
      rmSync(dir, { recursive: true, force: true });
    });

    it('audit judges the real processes and names the fakes (pid, uid) in warnings', async () => {
      const r = await run(['audit', '-o', 'json']);
      const results = (JSON.parse(r.stdout) as { results: AuditResult[] }).results;
      const api = results.find((x) => x.control === 'apiserver-kubelet-client-cert');
      const kubelet = results.find((x) => x.control === 'kubelet-client-ca');
      // The real kube-apiserver has no client flags: the fake's two flags must not make it pass.
      expect(api?.status).toBe('fail');
      expect(kubelet?.status).toBe('fail');
      expect(JSON.stringify(results.map((x) => x.evidence))).not.toContain(EVIL);
      const realApi = (await rootPids('kube-apiserver'))[0];
      expect(api?.evidence.map((e) => e.source)).toContain(`/proc/${realApi}/cmdline`);
      expect(api?.warnings).toContain(
        `ignored process ${fakes.apiserver} named kube-apiserver (uid 65534): not the node's kube-apiserver, it does not run as root`,
      );
      expect(kubelet?.warnings).toContain(
        `ignored process ${fakes.kubelet} named kubelet (uid 65534): not the node's kubelet, it does not run as root`,
      );
      // Root's fakes: named with why, never judged; the plan below shows nothing of theirs is changed.
      expect(api?.warnings).toContain(
        `ignored process ${fakes.rootApiserver} named kube-apiserver (uid 0): not the node's kube-apiserver, it runs in a pod that is not one of the kubelet's static pods (any user's pod may run as root)`,
      );
      expect(kubelet?.warnings).toContain(
        `ignored process ${fakes.rootKubelet} named kubelet (uid 0): not the node's kubelet, a root kubelet runs in the cgroup of kubelet.service or of its launcher`,
      );
      expect(JSON.stringify(results.map((x) => x.evidence))).not.toContain(ROOT_CONFIG);
      expect(r.code).toBe(1);
    });

    it("the trust gate never calls with a root pod's pair: the real kube-apiserver presents none yet", async () => {
      const before = await sh.sha(NODE, KUBELET_CONFIG);
      const planFile = join(dir, 'kubelet-only.plan.json');
      expect((await run(['plan', '--controls', 'kubelet-client-ca', '--out', planFile])).code).toBe(1);
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as PlanFile;
      expect(plan.nodes.flatMap((n) => n.changes.map((c) => c.path))).toEqual([KUBELET_CONFIG]);
      const applied = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
      const [outcome] = (JSON.parse(applied.stdout) as ApplyReport).outcomes;
      const trust = outcome && 'trust' in outcome ? (outcome.trust ?? []) : [];
      expect(trust.join('\n')).toContain(`${NODE}'s kube-apiserver presents no kubelet client certificate`);
      expect(trust.join('\n')).not.toContain('authenticated');
      expect(outcome?.status, applied.stdout).toBe('applied');
      const rolled = await run(['rollback', '--node', NODE, '--yes']);
      expect(rolled.code, `${rolled.stdout}\n${rolled.stderr}`).toBe(0);
      expect(await sh.sha(NODE, KUBELET_CONFIG)).toBe(before);
    }, 300_000);

    it("plan, apply and rollback touch only the real files; the attacker's files are unchanged", async () => {
      const before = { manifest: await sh.sha(NODE, MANIFEST), config: await sh.sha(NODE, KUBELET_CONFIG) };
      const planFile = join(dir, 'change.plan.json');
      expect((await run(['plan', '--out', planFile])).code).toBe(1);
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as PlanFile;
      const paths = plan.nodes.flatMap((n) => n.changes.map((c) => c.path));
      expect(paths.sort()).toEqual([MANIFEST, KUBELET_CONFIG].sort());

      const applied = await run(['apply', '--plan', planFile, '--yes', '-o', 'json']);
      const [outcome] = (JSON.parse(applied.stdout) as ApplyReport).outcomes;
      expect(outcome).toMatchObject({ node: NODE, status: 'applied' });
      expect(applied.code).toBe(0);
      // The gates were met by the real processes: root, with the new flags, healthy.
      const realApi = (await rootPids('kube-apiserver'))[0];
      expect(await sh.ssh(NODE, `tr '\\0' ' ' < /proc/${realApi}/cmdline`)).toContain(
        '--kubelet-client-certificate=',
      );
      expect((await run(['audit', '-o', 'json'])).code).toBe(0);

      const rolled = await run(['rollback', '--node', NODE, '--yes']);
      expect(rolled.code, `${rolled.stdout}\n${rolled.stderr}`).toBe(0);
      expect(await sh.sha(NODE, MANIFEST)).toBe(before.manifest);
      expect(await sh.sha(NODE, KUBELET_CONFIG)).toBe(before.config);
      for (const f of [...EVIL_FILES, ROOT_CONFIG]) expect(await sh.sha(NODE, f)).toBe(evilSha[f]);
      // The fakes still run, untouched, as nobody.
      expect(await sh.ssh(NODE, `ps -o uid= -p ${fakes.kubelet} -p ${fakes.apiserver} | wc -l`)).toBe('2\n');
    }, 300_000);
  },
);
