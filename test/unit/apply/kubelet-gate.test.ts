// The kubelet health gate where there is no healthz (healthzPort 0) and where kubelet.service's
// MainPID is not the kubelet (Flatcar/Typhoon run it with `docker run`): what it asks the node, and
// what it accepts, driven through snapshot + restartAndGate against a fake node.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { secureAnswers } from '../../../src/apply/health.js';
import { GateError, restartAndGate, snapshot, type RestartSpec } from '../../../src/apply/restart-gate.js';
import { nodeModel, type NodeModel } from '../../../src/facts/model.js';
import type { ExecResult, HeldCommand, NodeSession } from '../../../src/node/ssh/types.js';
import { fakeFacts } from '../support/fake-node.js';
import { decode } from '../support/scripts.js';

const local = (rel: string) => readFileSync(new URL(`../fixtures/${rel}`, import.meta.url), 'utf8');
const FLATCAR_CONFIG = '--config=/etc/kubernetes/kubelet.yaml';
const kubeletArgv = (config = FLATCAR_CONFIG) => [
  '/usr/local/bin/kubelet',
  '--bootstrap-kubeconfig=x',
  config,
];

/** Flatcar/Typhoon as gathered: kubelet.service runs `docker run` (MainPID 850), the kubelet is pid 900. */
function flatcarModel(): NodeModel {
  const model = nodeModel(
    fakeFacts({
      processes: [{ pid: 900, comm: 'kubelet', argv: kubeletArgv() }],
      kubeletUnit: [{ path: '/etc/systemd/system/kubelet.service', text: local('flatcar/kubelet.service') }],
      files: {
        '/etc/os-release': 'ID=flatcar\n',
        '/etc/kubernetes/kubelet.yaml': local('flatcar/kubelet.yaml'),
      },
    }),
  );
  model.facts.units.get('kubelet')!.show['MainPID'] = '850';
  return model;
}

/** A kubelet run by systemd itself (MainPID is the kubelet) whose config turns healthz off (by default). */
function noHealthzModel(healthz = 'healthzPort: 0\n'): NodeModel {
  const config = '/var/lib/kubelet/config.yaml';
  const model = nodeModel(
    fakeFacts({
      processes: [{ pid: 40, comm: 'kubelet', argv: ['/usr/bin/kubelet', `--config=${config}`] }],
      files: {
        [config]: `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n${healthz}port: 10260\n`,
      },
    }),
  );
  model.facts.units.get('kubelet')!.show['MainPID'] = '40';
  return model;
}

interface Proc {
  pid: number;
  comm: string;
  argv: string[];
}

/** What the node answers to kubelet-state: systemd's view, the two ports, the processes by name. */
class GateNode implements NodeSession {
  readonly node = 'n1';
  readonly hostKeyFingerprint = 'SHA256:fake';
  mainPid: number;
  nRestarts = 0;
  active = 'active';
  healthz = 'ok';
  secure = '401';
  procs: Proc[];
  /** The arguments of every kubelet-state call. */
  asked: string[][] = [];
  /** Raw lines appended to every kubelet-state answer (a hostile node). */
  extra = '';
  /** What `systemctl restart kubelet` does on this node. */
  onRestart: (n: GateNode) => void = () => undefined;
  /** Called before each kubelet-state answer after the restart (a kubelet that changes over time). */
  onState: (n: GateNode, call: number) => void = () => undefined;
  private stateCalls = 0;

  constructor(mainPid: number, procs: Proc[]) {
    this.mainPid = mainPid;
    this.procs = procs;
  }

  exec(command: string): Promise<ExecResult> {
    const { name, args } = decode(command);
    const ok = (stdout: string) => Promise.resolve({ code: 0, stdout, stderr: '', truncated: false });
    if (name === 'restart-kubelet') {
      this.onRestart(this);
      this.stateCalls = 0;
      return ok('');
    }
    if (name !== 'kubelet-state') throw new Error(`unexpected script ${name}`);
    this.asked.push(args);
    this.onState(this, this.stateCalls++);
    const [healthzUrl, secureUrl, comm] = args;
    const lines = [
      `MainPID=${this.mainPid}`,
      `NRestarts=${this.nRestarts}`,
      `ActiveState=${this.active}`,
      `SubState=${this.active === 'active' ? 'running' : 'auto-restart'}`,
      `Healthz=${healthzUrl ? this.healthz : 'unchecked'}`,
      ...(secureUrl ? [`Secure=${this.secure}`] : []),
      ...(comm
        ? this.procs
            .filter((p) => p.comm === comm)
            .map((p) => `PROC ${p.pid} ${Buffer.from(p.argv.join('\0') + '\0').toString('base64')}`)
        : []),
    ];
    return ok(`${lines.join('\n')}\n${this.extra}`);
  }

  hold(): Promise<HeldCommand> {
    throw new Error('no lock here');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Docker-run restart: a new docker client as MainPID, a new kubelet process in the container. */
const dockerRestart =
  (kubeletPid: number, argv = kubeletArgv()) =>
  (n: GateNode) => {
    n.mainPid += 100;
    n.procs = n.procs.filter((p) => p.comm !== 'kubelet').concat({ pid: kubeletPid, comm: 'kubelet', argv });
  };

const SPEC: RestartSpec = { restarts: ['kubelet'], expectApiserverFlags: [] };

async function gate(node: GateNode, model: NodeModel): Promise<string> {
  let t = 0;
  const stages: string[] = [];
  const before = await snapshot(node, model, SPEC);
  await restartAndGate(node, SPEC, before, {
    timeouts: { kubeletHealthySec: 10, kubeletStableSec: 2, apiserverRestartSec: 10 },
    clock: { now: () => t, sleep: (ms) => Promise.resolve(void (t += ms)) },
    onStage: (stage, detail) => stages.push(`${stage} ${detail ?? ''}`),
  });
  return stages.join('\n');
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'passed',
    (e: unknown) => (e instanceof GateError ? e.message : `not a GateError: ${String(e)}`),
  );

describe('the kubelet gate on Flatcar/Typhoon (healthzPort 0, MainPID is docker)', () => {
  const flatcarNode = () =>
    new GateNode(850, [
      { pid: 850, comm: 'docker', argv: ['/usr/bin/docker', 'run', '--name', 'kubelet'] },
      { pid: 900, comm: 'kubelet', argv: kubeletArgv() },
    ]);

  it('asks the secure port and lists kubelet processes; a new kubelet process whose 10250 answers 401 passes', async () => {
    const node = flatcarNode();
    node.onRestart = dockerRestart(1200);
    const stages = await gate(node, flatcarModel());
    expect(node.asked[0]).toEqual(['', 'https://127.0.0.1:10250/healthz', 'kubelet']);
    expect(stages).toContain(
      'health kubelet https://127.0.0.1:10250/healthz answering (a new kubelet process, active)',
    );
  });

  it('403 and 200 on the secure port pass too', async () => {
    for (const code of ['403', '200']) {
      const node = flatcarNode();
      node.onRestart = dockerRestart(1200);
      node.secure = code;
      expect(await failure(gate(node, flatcarModel()))).toBe('passed');
    }
  });

  it('a new MainPID alone is not enough: the old kubelet process still running fails the gate', async () => {
    const node = flatcarNode();
    node.onRestart = (n) => void (n.mainPid += 100); // docker client restarted, kubelet 900 untouched
    expect(await failure(gate(node, flatcarModel()))).toBe(
      `kubelet not healthy after 10s: no new kubelet process (named kubelet with ${JSON.stringify(FLATCAR_CONFIG)}) started; running: 900`,
    );
  });

  it("a process named kubelet without the node's --config is not the kubelet", async () => {
    const node = flatcarNode();
    node.onRestart = dockerRestart(1200, kubeletArgv('--config=/tmp/other.yaml'));
    expect(await failure(gate(node, flatcarModel()))).toMatch(
      /no new kubelet process \(named kubelet with "--config=\/etc\/kubernetes\/kubelet\.yaml"\) started; running: none$/,
    );
  });

  it('a new kubelet whose secure port does not answer fails, in words', async () => {
    const node = flatcarNode();
    node.onRestart = dockerRestart(1200);
    node.secure = '000';
    expect(await failure(gate(node, flatcarModel()))).toBe(
      'kubelet not healthy after 10s: the kubelet has no healthz (healthzPort 0) and its secure port https://127.0.0.1:10250/healthz answered nothing',
    );
  });

  it('a kubelet that answers once and exits before the stable check fails; one that is replaced by another new one passes', async () => {
    const dies = flatcarNode();
    dies.onRestart = dockerRestart(1200);
    dies.onState = (n, call) => {
      if (call === 1) n.procs = n.procs.filter((p) => p.comm !== 'kubelet');
    };
    expect(await failure(gate(dies, flatcarModel()))).toMatch(/no new kubelet process .* running: none$/);

    const replaced = flatcarNode();
    replaced.onRestart = dockerRestart(1200);
    replaced.onState = (n, call) => {
      if (call === 1) dockerRestart(1300)(n); // the container restarted once; 1300 then stays
    };
    expect(await failure(gate(replaced, flatcarModel()))).toBe('passed');
  });

  it('a hostile node: a Secure value that is not a status code, and PROC lines that are not a pid and base64, count for nothing', async () => {
    expect(['200', '401', '403', '500', 'unchecked'].map(secureAnswers)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['', '000', '401; rm -rf /', '4011', 'ok'].map(secureAnswers)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    const node = flatcarNode();
    node.onRestart = (n) => void (n.mainPid += 100);
    node.extra = `PROC 1300 not*base64\nPROC -5 ${Buffer.from(kubeletArgv().join('\0')).toString('base64')}\nPROC 1301\n`;
    expect(await failure(gate(node, flatcarModel()))).toMatch(/no new kubelet process .* running: 900$/);
    node.secure = '401"\nSecure=401';
    node.onRestart = dockerRestart(1400);
    expect(await failure(gate(node, flatcarModel()))).toMatch(/secure port .* answered nothing$/);
  });
});

describe('the kubelet gate with healthz off but MainPID the kubelet', () => {
  it('a new MainPID and the configured secure port answering pass; no process listing is asked', async () => {
    const node = new GateNode(40, []);
    node.onRestart = (n) => void (n.mainPid = 41);
    node.secure = '403';
    await gate(node, noHealthzModel());
    expect(node.asked[0]).toEqual(['', 'https://127.0.0.1:10260/healthz', '']);
  });

  it('the old MainPID, or no answer on the port, fails', async () => {
    const same = new GateNode(40, []);
    expect(await failure(gate(same, noHealthzModel()))).toBe(
      'kubelet not healthy after 10s: the kubelet kept its old PID 40',
    );
    const silent = new GateNode(40, []);
    silent.onRestart = (n) => void (n.mainPid = 41);
    silent.secure = '000';
    expect(await failure(gate(silent, noHealthzModel()))).toMatch(
      /secure port https:\/\/127\.0\.0\.1:10260\/healthz answered nothing$/,
    );
  });

  it('where healthz is on, the gate asks healthz only (not the secure port, no processes)', async () => {
    const node = new GateNode(40, []);
    node.onRestart = (n) => void (n.mainPid = 41);
    node.secure = '000';
    await gate(node, noHealthzModel(''));
    expect(node.asked[0]).toEqual(['http://127.0.0.1:10248/healthz', '', '']);
  });
});
