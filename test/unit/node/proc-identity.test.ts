// Which processes are the node's kubelet and kube-apiserver (src/node/scripts/lib/proc-identity.sh),
// decided under dash over a /proc of fixtures: uid, cgroup v1 and v2, both cgroup drivers.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFacts } from '../../../src/node/gather-parse.js';
import { ambiguityError, ignoredProcessWarnings } from '../../../src/facts/process-identity.js';
import { gatherArgs } from '../../../src/node/gather-script.js';
import { scriptText, type ScriptName } from '../../../src/node/remote.js';

let root = '';
let proc = '';

interface Fake {
  pid: number;
  comm: string;
  /** real, effective */
  uid: [number, number];
  cgroup: string;
  argv: string[];
  /** The parent's pid (PPid: in status); 1 unless given. */
  ppid?: number;
  /** Where /proc/PID/exe points (no link unless given). */
  exe?: string;
  /** The State: letter (S unless given; Z: ended, not yet reaped). */
  state?: string;
}

/** One /proc/PID directory: comm, status (Uid: real effective saved fs), cgroup and cmdline. */
function fake(p: Fake): void {
  const d = join(proc, String(p.pid));
  mkdirSync(d);
  writeFileSync(join(d, 'comm'), `${p.comm}\n`);
  const [r, e] = p.uid;
  writeFileSync(
    join(d, 'status'),
    `Name:\t${p.comm}\nUmask:\t0022\nState:\t${p.state ?? 'S'} (sleeping)\nPPid:\t${p.ppid ?? 1}\nUid:\t${r}\t${e}\t${e}\t${e}\nGid:\t0\t0\t0\t0\n`,
  );
  writeFileSync(join(d, 'cgroup'), p.cgroup.endsWith('\n') ? p.cgroup : `${p.cgroup}\n`);
  writeFileSync(join(d, 'cmdline'), `${p.argv.join('\0')}\0`);
  symlinkSync('/', join(d, 'cwd'));
  if (p.exe) symlinkSync(p.exe, join(d, 'exe'));
}

/** Runs a script under dash with /proc replaced by the fixtures. */
function run(name: ScriptName, args: string[]): string {
  const text = scriptText(name);
  expect(text).toContain('\nKUBE_PROC=/proc\n');
  const r = spawnSync(
    'dash',
    ['-c', text.replace('\nKUBE_PROC=/proc\n', `\nKUBE_PROC=${proc}\n`), name, ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: `${join(root, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin` },
      timeout: 20_000,
    },
  );
  expect(r.status).toBe(0);
  return r.stdout;
}

/** The pids the apiserver-state / kubelet-state scripts list (PROC lines). */
const listed = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('PROC '))
    .map((l) => Number(l.split(' ')[1]));

const UID = '3f0c5a29-7b7e-4c59-9d5e-0b1f3c2a9e11';
const CID = 'a'.repeat(64);
const NOBODY: [number, number] = [65534, 65534];
const ROOT: [number, number] = [0, 0];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'km-procid-'));
  proc = join(root, 'proc');
  mkdirSync(proc);
  mkdirSync(join(root, 'bin'));
  // systemctl and curl stand-ins: the scripts' other lines must not reach the real ones.
  for (const tool of ['systemctl', 'curl']) {
    writeFileSync(join(root, 'bin', tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the kubelet: root, and in the unit that runs it', () => {
  it('takes the root kubelet in kubelet.service (cgroup v2) and names a nobody kubelet earlier in /proc', () => {
    fake({
      pid: 100,
      comm: 'kubelet',
      uid: NOBODY,
      cgroup: '0::/user.slice/user-65534.slice/session-4.scope',
      argv: ['kubelet', '--config=/tmp/evil/k.yaml'],
    });
    fake({
      pid: 900,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: '0::/system.slice/kubelet.service',
      argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'],
    });
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => [p.pid, p.comm, p.argv[1]])).toEqual([
      [900, 'kubelet', '--config=/var/lib/kubelet/config.yaml'],
    ]);
    expect(facts.ignored).toEqual([{ pid: 100, ruid: 65534, euid: 65534, comm: 'kubelet', why: 'notroot' }]);
    expect(ignoredProcessWarnings(facts, 'kubelet')).toEqual([
      "ignored process 100 named kubelet (uid 65534): not the node's kubelet, it does not run as root",
    ]);
    // The impostor's config is never read, nor followed.
    expect([...facts.files.keys()].filter((f) => f.startsWith('/tmp/evil'))).toEqual([]);
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([900]);
  });

  it.each([
    [
      'cgroup v1, name=systemd after a controller line',
      '12:cpu,cpuacct:/system.slice/kubelet.service\n1:name=systemd:/system.slice/kubelet.service\n0::/',
    ],
    [
      'cgroup v1, controller lines only',
      '4:memory:/system.slice/kubelet.service\n3:cpu,cpuacct:/system.slice/kubelet.service',
    ],
    // A node in a container: its cgroups below the host's path for it.
    ['a prefix before the unit', '0::/kubemend-lab/l/n/payload/system.slice/kubelet.service'],
    ['rke2-agent.service', '0::/system.slice/rke2-agent.service'],
    ['k0sworker.service', '0::/system.slice/k0sworker.service'],
  ])('reads the unit from %s', (_, cgroup) => {
    fake({ pid: 201, comm: 'kubelet', uid: ROOT, cgroup, argv: ['kubelet'] });
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([201]);
    expect(parseFacts(run('gather', gatherArgs())).processes.map((p) => p.pid)).toEqual([201]);
  });

  it('gather follows --config_file-style spellings (`_` is `-` to the flag parser)', () => {
    const cfg = join(root, 'k.yaml');
    const dir = join(root, 'k.d');
    mkdirSync(dir);
    writeFileSync(cfg, 'kind: KubeletConfiguration\n');
    writeFileSync(join(dir, '10-a.conf'), 'kind: KubeletConfiguration\n');
    fake({
      pid: 202,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: '0::/system.slice/kubelet.service',
      argv: ['kubelet', `--config=${cfg}`, `--config_dir=${dir}`],
    });
    const files = [...parseFacts(run('gather', gatherArgs())).files.keys()];
    expect(files).toEqual(expect.arrayContaining([cfg, join(dir, '10-a.conf')]));
  });

  it('a child the kubelet has just forked (its name until it execs) is the kubelet for a moment, not a tie', () => {
    const unit = '0::/system.slice/kubelet.service';
    const argv = ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'];
    fake({ pid: 900, comm: 'kubelet', uid: ROOT, cgroup: unit, argv });
    fake({ pid: 950, comm: 'kubelet', uid: ROOT, cgroup: unit, argv, ppid: 900 });
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => p.pid)).toEqual([900]);
    expect(facts.ignored ?? []).toEqual([]);
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([900]);
    // A child that is another program (a wrapper named kubelet running the kubelet) is a tie.
    for (const pid of ['900', '950']) rmSync(join(proc, pid), { recursive: true });
    fake({ pid: 900, comm: 'kubelet', uid: ROOT, cgroup: unit, argv, exe: '/usr/bin/dash' });
    fake({ pid: 950, comm: 'kubelet', uid: ROOT, cgroup: unit, argv, ppid: 900, exe: '/usr/bin/kubelet' });
    expect(ambiguityError(parseFacts(run('gather', gatherArgs())), 'kubelet')).toMatch(/950 .*900|900 .*950/);
    // Two kubelets in the unit that are not parent and child stay an error naming both.
    rmSync(join(proc, '950'), { recursive: true });
    fake({ pid: 990, comm: 'kubelet', uid: ROOT, cgroup: unit, argv });
    expect(ambiguityError(parseFacts(run('gather', gatherArgs())), 'kubelet')).toMatch(/990 .*900|900 .*990/);
  });

  it('a child of the kubelet that has ended and is not yet reaped (a zombie) is no second kubelet', () => {
    const unit = '0::/system.slice/kubelet.service';
    const argv = ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'];
    fake({ pid: 900, comm: 'kubelet', uid: ROOT, cgroup: unit, argv, exe: '/usr/bin/kubelet' });
    // Its program and command line are gone; only its name and status remain.
    fake({ pid: 950, comm: 'kubelet', uid: ROOT, cgroup: unit, argv: [], ppid: 900, state: 'Z' });
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => p.pid)).toEqual([900]);
    expect(ambiguityError(facts, 'kubelet')).toBeUndefined();
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([900]);
  });

  it('two kubelets in the unit that are not parent and child stay an error naming both', () => {
    const unit = '0::/system.slice/kubelet.service';
    const argv = ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'];
    fake({ pid: 900, comm: 'kubelet', uid: ROOT, cgroup: unit, argv });
    fake({ pid: 990, comm: 'kubelet', uid: ROOT, cgroup: unit, argv });
    expect(ambiguityError(parseFacts(run('gather', gatherArgs())), 'kubelet')).toMatch(/990 .*900|900 .*990/);
  });

  it('ignores a root kubelet in a session, a user manager, a pod, and a setuid copy', () => {
    fake({
      pid: 201,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: '0::/system.slice/kubelet.service',
      argv: ['kubelet'],
    });
    // Root, but a shell's session; the cpu line says kubelet.service, the systemd line wins.
    fake({
      pid: 206,
      comm: 'kubelet',
      uid: ROOT,
      cgroup:
        '3:cpu,cpuacct:/system.slice/kubelet.service\n1:name=systemd:/user.slice/user-0.slice/session-2.scope',
      argv: ['kubelet'],
    });
    // A user manager's unit of that name is not the system's kubelet.service.
    fake({
      pid: 207,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: '0::/user.slice/user-0.slice/user@0.service/app.slice/kubelet.service',
      argv: ['kubelet'],
    });
    // A privileged pod's container with that name.
    fake({
      pid: 208,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${CID}.scope`,
      argv: ['kubelet'],
    });
    // Real uid a user's, effective root (a setuid copy): not root.
    fake({
      pid: 209,
      comm: 'kubelet',
      uid: [1000, 0],
      cgroup: '0::/system.slice/kubelet.service',
      argv: ['kubelet'],
    });
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([201]);
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => p.pid)).toEqual([201]);
    expect(facts.ignored?.map((p) => [p.pid, p.ruid, p.euid, p.why])).toEqual([
      [206, 0, 0, 'nounit'],
      [207, 0, 0, 'nounit'],
      [208, 0, 0, 'nounit'],
      [209, 1000, 0, 'notroot'],
    ]);
    expect(ignoredProcessWarnings(facts, 'kubelet')[3]).toBe(
      "ignored process 209 named kubelet (uid 1000, euid 0): not the node's kubelet, it does not run as root",
    );
  });
});

describe("a root kubelet in a container: only the one kubelet.service runs, and never over the unit's", () => {
  const DOCKER_SCOPE = `0::/system.slice/docker-${CID}.scope`;
  const evil = (pid: number, cgroup = '0::/system.slice/docker-0123abcd.scope') =>
    fake({ pid, comm: 'kubelet', uid: ROOT, cgroup, argv: ['/tmp/ev/kubelet', '--config=/etc/evil/k.yaml'] });
  const real = (pid: number) =>
    fake({
      pid,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: '0::/system.slice/kubelet.service',
      argv: ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'],
    });
  const dockerClient = (pid: number, cgroup = '0::/system.slice/kubelet.service') =>
    fake({ pid, comm: 'docker', uid: ROOT, cgroup, argv: ['docker', 'run', '--name', 'kubelet'] });

  it('a CI job container (root, docker-*.scope, pid before the real one) is outranked by kubelet.service', () => {
    real(399);
    evil(1313);
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => [p.pid, p.argv[1]])).toEqual([
      [399, '--config=/var/lib/kubelet/config.yaml'],
    ]);
    expect([...facts.files.keys()].filter((f) => f.startsWith('/etc/evil'))).toEqual([]);
    expect(ignoredProcessWarnings(facts, 'kubelet')).toEqual([
      "ignored process 1313 named kubelet (uid 0): not the node's kubelet, a root kubelet runs in the cgroup of kubelet.service or of its launcher",
    ]);
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([399]);
  });

  it('with no kubelet in a unit, a container kubelet counts only when kubelet.service holds the engine client', () => {
    evil(1313);
    // A root docker client elsewhere (a CI job's) says nothing about kubelet.service.
    dockerClient(50, '0::/system.slice/gitlab-runner.service');
    let facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes).toEqual([]);
    expect(facts.ignored?.map((p) => [p.pid, p.why])).toEqual([[1313, 'nounit']]);
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([]);
    // Flatcar/Typhoon: kubelet.service runs `docker run … kubelet`; docker puts the kubelet in its own scope.
    dockerClient(60);
    facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => p.pid)).toEqual([1313]);
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([1313]);
  });

  it('two container kubelets under a docker-running kubelet.service: an error naming both, none judged', () => {
    dockerClient(60);
    evil(1313);
    fake({
      pid: 2000,
      comm: 'kubelet',
      uid: ROOT,
      cgroup: DOCKER_SCOPE,
      argv: ['kubelet', '--config=/etc/kubernetes/kubelet.yaml'],
    });
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes).toEqual([]);
    expect(facts.ignored?.map((p) => [p.pid, p.why])).toEqual([
      [2000, 'ambiguous'],
      [1313, 'ambiguous'],
    ]);
    expect(ambiguityError(facts, 'kubelet')).toBe(
      "more than one root process could be the node's kubelet, so kubemend judges none of them: 2000 named kubelet (uid 0), 1313 named kubelet (uid 0); see the warnings for where each runs, stop the one that is not the node's",
    );
    expect(ambiguityError(facts, 'kube-apiserver')).toBeUndefined();
    expect(listed(run('kubelet-state', ['', '', 'kubelet']))).toEqual([]);
  });

  it('two root kubelets in kubelet.service are an ambiguity too, never the first in /proc', () => {
    real(399);
    real(400);
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes).toEqual([]);
    expect(facts.ignored?.map((p) => p.why)).toEqual(['ambiguous', 'ambiguous']);
  });
});

describe("the kube-apiserver: root, in the kubelet's static pod, else in a unit", () => {
  const api = (pid: number, uid: [number, number], cgroup: string, cert: string) =>
    fake({
      pid,
      comm: 'kube-apiserver',
      uid,
      cgroup,
      argv: [
        'kube-apiserver',
        `--kubelet-client-certificate=${cert}.crt`,
        `--kubelet-client-key=${cert}.key`,
      ],
    });

  // A static pod's UID: the kubelet's md5 of its source and pod, hex (config/common.go applyDefaults).
  const SUID = '6d4b0d5a1f0e3c2b9a8f7e6d5c4b3a29';
  const REAL = '/etc/kubernetes/pki/apiserver-kubelet-client';
  it.each([
    [
      'systemd driver, burstable',
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${SUID}.slice/cri-containerd-${CID}.scope`,
    ],
    [
      'systemd driver, guaranteed',
      `0::/kubepods.slice/kubepods-pod${SUID}.slice/cri-containerd-${CID}.scope`,
    ],
    [
      'cgroupfs driver, besteffort (v1)',
      `11:name=systemd:/kubepods/besteffort/pod${SUID}/${CID}\n4:memory:/kubepods/besteffort/pod${SUID}/${CID}`,
    ],
    ['cgroupfs driver, guaranteed', `0::/kubepods/pod${SUID}/${CID}`],
  ])("a root kube-apiserver in a static pod (%s) is the node's over one in a unit", (_, podCgroup) => {
    api(300, ROOT, '0::/system.slice/evil.service', '/tmp/evil/own');
    api(800, ROOT, podCgroup, REAL);
    expect(listed(run('apiserver-state', ['https://127.0.0.1:6443/livez']))).toEqual([800]);
    const probe = run('trust-probe', []);
    expect(probe).toContain(`KMCERT ${REAL}.crt\n`);
    expect(probe).not.toContain('/tmp/evil');
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => p.pid)).toEqual([800]);
    expect(ignoredProcessWarnings(facts, 'kube-apiserver')).toEqual([
      "ignored process 300 named kube-apiserver (uid 0): not the node's kube-apiserver, a root kube-apiserver runs in a static pod of the kubelet",
    ]);
  });

  // Root is the default user in a pod: any pod's process can be named kube-apiserver.
  const API_POD = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${CID}.scope`;
  const API_POD_V1 = `1:name=systemd:/kubepods/besteffort/pod${UID}/${CID}`;
  const ABC = '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/run-r1.scope';

  it.each([
    ['an API pod (systemd driver)', API_POD],
    ['an API pod (cgroupfs driver)', API_POD_V1],
    ['a slice named like a pod', ABC],
  ])(
    "on a worker, a root kube-apiserver in %s is not the node's: no control plane, no probe",
    (_, cgroup) => {
      api(1313, ROOT, cgroup, REAL);
      expect(run('trust-probe', ['https://10.0.0.9:10250/healthz'])).toBe('KMCALLER none\n');
      expect(listed(run('apiserver-state', ['https://127.0.0.1:6443/livez']))).toEqual([]);
      const facts = parseFacts(run('gather', gatherArgs()));
      expect(facts.processes).toEqual([]);
      expect(ignoredProcessWarnings(facts, 'kube-apiserver')).toEqual([
        "ignored process 1313 named kube-apiserver (uid 0): not the node's kube-apiserver, it runs in a pod that is not one of the kubelet's static pods (any user's pod may run as root)",
      ]);
    },
  );

  it("on a control plane, a root pod's kube-apiserver earlier in /proc never replaces the static pod's", () => {
    api(399, ROOT, ABC, REAL);
    api(
      1313,
      ROOT,
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${SUID}.slice/kubelet-pod-kube-apiserver-1.service`,
      '/etc/kubernetes/pki/real',
    );
    expect(run('trust-probe', [])).toBe(
      'KMCALLER pair\nKMCERT /etc/kubernetes/pki/real.crt\nKMKEY /etc/kubernetes/pki/real.key\n',
    );
    expect(listed(run('apiserver-state', ['https://127.0.0.1:6443/livez']))).toEqual([1313]);
  });

  it("the hard way (a kube-apiserver.service, no static pod) is the node's over a root pod of that name", () => {
    api(2000, ROOT, API_POD, '/tmp/evil/own');
    api(400, ROOT, '0::/system.slice/kube-apiserver.service', REAL);
    expect(run('trust-probe', [])).toContain(`KMCERT ${REAL}.crt\n`);
    expect(parseFacts(run('gather', gatherArgs())).processes.map((p) => p.pid)).toEqual([400]);
  });

  it('two root kube-apiservers of the same rank: an error naming both, and no probe at all', () => {
    api(300, ROOT, `0::/kubepods/pod${SUID}/${CID}`, '/tmp/evil/own');
    api(800, ROOT, `0::/kubepods/pod${SUID.replace('6d', 'ff')}/${CID}`, REAL);
    expect(run('trust-probe', ['https://10.0.0.9:10250/healthz'])).toBe('KMCALLER ambiguous 800 300\n');
    const state = run('apiserver-state', ['https://127.0.0.1:6443/livez']);
    expect(listed(state)).toEqual([]);
    // The health gate is told the candidates (a static pod's restart: not settled yet), never one of them.
    const tied = state
      .split('\n')
      .filter((l) => l.startsWith('TIE '))
      .map((l) => l.split(' '));
    expect(tied.map((t) => Number(t[1]))).toEqual([800, 300]);
    expect(Buffer.from(tied[0]![2]!, 'base64').toString().split('\0')).toContain(
      `--kubelet-client-key=${REAL}.key`,
    );
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes).toEqual([]);
    expect(ambiguityError(facts, 'kube-apiserver')).toBe(
      "more than one root process could be the node's kube-apiserver, so kubemend judges none of them: 800 named kube-apiserver (uid 0), 300 named kube-apiserver (uid 0); see the warnings for where each runs, stop the one that is not the node's",
    );
  });

  it('trust probe: the client pair written with `_` (the flag parser reads it as `-`) and as separate words', () => {
    fake({
      pid: 400,
      comm: 'kube-apiserver',
      uid: ROOT,
      cgroup: '0::/system.slice/kube-apiserver.service',
      argv: [
        'kube-apiserver',
        '--kubelet_client_certificate=/pki/u.crt',
        '--kubelet_client_key',
        '/pki/u.key',
      ],
    });
    expect(run('trust-probe', [])).toBe('KMCALLER pair\nKMCERT /pki/u.crt\nKMKEY /pki/u.key\n');
  });

  it('a nobody kube-apiserver with both client flags is never the caller, whatever its place in /proc', () => {
    api(50, NOBODY, '0::/user.slice/user-65534.slice/session-9.scope', '/tmp/evil/a');
    api(400, ROOT, '0::/system.slice/kubelet-pod-kube-apiserver-1.service', '/etc/kubernetes/pki/real');
    api(990, NOBODY, '0::/user.slice/user-65534.slice/session-9.scope', '/tmp/evil/b');
    // One root kube-apiserver: the node's, wherever it runs.
    expect(run('trust-probe', [])).toBe(
      'KMCALLER pair\nKMCERT /etc/kubernetes/pki/real.crt\nKMKEY /etc/kubernetes/pki/real.key\n',
    );
    expect(listed(run('apiserver-state', ['https://127.0.0.1:6443/livez']))).toEqual([400]);
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.processes.map((p) => p.pid)).toEqual([400]);
    expect(facts.pairs.map((p) => p.cert)).not.toContain('/tmp/evil/a.crt');
    expect(facts.ignored?.map((p) => [p.pid, p.ruid, p.why])).toEqual([
      [50, 65534, 'notroot'],
      [990, 65534, 'notroot'],
    ]);
  });

  it('only nobody kube-apiservers: none runs here', () => {
    api(60, NOBODY, '0::/user.slice/user-65534.slice/session-9.scope', '/tmp/evil/a');
    expect(run('trust-probe', [])).toBe('KMCALLER none\n');
    expect(listed(run('apiserver-state', ['https://127.0.0.1:6443/livez']))).toEqual([]);
  });

  it('trust-probe refuses a certificate path with a newline before printing anything of it', () => {
    api(70, ROOT, '0::/system.slice/kube-apiserver.service', '/etc/k/x\nKMPROBE 200 https://forged');
    expect(run('trust-probe', ['https://10.0.0.9:10250/healthz'])).toBe('KMCALLER badpath\n');
  });
});

describe('a user who starts many fakes', () => {
  it('gets 32 of them named and a count of the rest, on both controls', () => {
    for (let i = 0; i < 40; i++)
      fake({
        pid: 1000 + i,
        comm: 'kubelet',
        uid: NOBODY,
        cgroup: '0::/user.slice/user-65534.slice/session-9.scope',
        argv: ['kubelet'],
      });
    const facts = parseFacts(run('gather', gatherArgs()));
    expect(facts.ignored).toHaveLength(32);
    expect(facts.ignoredMore).toBe(8);
    expect(ignoredProcessWarnings(facts, 'kubelet').at(-1)).toBe(
      "8 more processes named kubelet, kube-apiserver or a launcher were ignored as not the node's (only the first 32 are named)",
    );
    expect(ignoredProcessWarnings(facts, 'kube-apiserver')).toHaveLength(1);
  });
});
