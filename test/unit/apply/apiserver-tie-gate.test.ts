// The kube-apiserver health gate while a static pod restarts: for a moment the old and the new pod
// can both run (a kubelet killed in the middle of the switch, as apply's own kubelet restart does, leaves
// the old one to its successor's cleanup), and proc-identity.sh calls two root kube-apiservers in
// static pods a tie. Audit and plan keep that an error; the gate waits for it to settle, fails naming
// both when it does not, and never takes a process that ran before the change for the new one.
import { describe, expect, it } from 'vitest';
import { GateError, restartAndGate, snapshot, type RestartSpec } from '../../../src/apply/restart-gate.js';
import { nodeModel } from '../../../src/facts/model.js';
import type { ExecResult, NodeSession } from '../../../src/node/ssh/types.js';
import { loadBuiltinPlaybooks } from '../../../src/playbook/load.js';
import { fakeFacts } from '../support/fake-node.js';
import { decode } from '../support/scripts.js';

const FLAGS = [
  '--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt',
  '--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key',
];
const argv = (withFlags: boolean) =>
  Buffer.from(['kube-apiserver', '--secure-port=6443', ...(withFlags ? FLAGS : [])].join('\0')).toString(
    'base64',
  );

/** One answer of apiserver-state.sh: the node's kube-apiserver (PROC) or the candidates of a tie (TIE). */
interface State {
  proc?: [number, boolean];
  tie?: [number, boolean][];
}
const answer = (s: State): string =>
  [
    ...(s.proc ? [`PROC ${s.proc[0]} ${argv(s.proc[1])}`] : []),
    ...(s.tie ?? []).map(([pid, f]) => `TIE ${pid} ${argv(f)}`),
    'Livez=ok HTTP200',
    '',
  ].join('\n');

/** A control plane whose apiserver-state answers follow `states` (the last one repeats). */
function node(states: State[]) {
  let i = 0;
  const session: NodeSession = {
    node: 'cp-1',
    hostKeyFingerprint: 'SHA256:fake',
    exec(command) {
      const { name } = decode(command);
      const r: ExecResult = { code: 0, stdout: '', stderr: '', truncated: false };
      if (name === 'apiserver-state') r.stdout = answer(states[Math.min(i++, states.length - 1)]!);
      return Promise.resolve(r);
    },
    hold: () => Promise.reject(new Error('no lock here')),
    close: () => Promise.resolve(),
  };
  return session;
}

const timeouts = loadBuiltinPlaybooks().find((p) => p.name === 'generic')!.timeouts;
const clock = () => {
  let t = 0;
  return {
    now: () => t,
    sleep: (ms: number) => {
      t += ms;
      return Promise.resolve();
    },
  };
};
const model = nodeModel(fakeFacts({}));
const apply: RestartSpec = { restarts: ['static-pod:kube-apiserver'], expectApiserverFlags: FLAGS };
/** A rollback: any new kube-apiserver will do. */
const rollback: RestartSpec = { restarts: ['static-pod:kube-apiserver'], expectApiserverFlags: [] };

async function gate(spec: RestartSpec, states: State[]): Promise<string | undefined> {
  const session = node(states);
  const before = await snapshot(session, model, spec);
  return restartAndGate(session, spec, before, { timeouts, clock: clock() }).then(
    () => undefined,
    (e: unknown) => {
      if (!(e instanceof GateError)) throw e;
      return e.message;
    },
  );
}

describe('the kube-apiserver gate in the middle of a static pod restart', () => {
  it('old and new pod both running for a while: not settled yet, it waits and passes on the new one', async () => {
    const overlap: State = {
      tie: [
        [100, false],
        [200, true],
      ],
    };
    expect(
      await gate(apply, [{ proc: [100, false] }, ...Array<State>(20).fill(overlap), { proc: [200, true] }]),
    ).toBe(undefined);
  });

  it('a tie that lasts to the deadline fails with a reason naming both candidates', async () => {
    const why = await gate(apply, [
      { proc: [100, false] },
      {
        tie: [
          [100, false],
          [200, true],
        ],
      },
    ]);
    expect(why).toBe(
      `no single kube-apiserver with ${FLAGS.join(' ')} settled within ${timeouts.apiserverRestartSec}s: 2 root processes could be the node's kube-apiserver, so none is taken: 100 (running before the change, without the expected flags), 200 (new, with the expected flags); stop the one that is not the node's (/livez: "ok HTTP200")`,
    );
  });

  it('a snapshot taken during a tie remembers both: the one left over is not the restarted apiserver', async () => {
    // Before the rollback: an orphaned old pod (100) and the running one (150). After it, only the
    // orphan answers: nothing restarted, which the gate must not take for a new kube-apiserver.
    const why = await gate(rollback, [
      {
        tie: [
          [100, false],
          [150, true],
        ],
      },
      { proc: [100, false] },
    ]);
    expect(why).toMatch(/^no healthy kube-apiserver within \d+s \(running: 100; \/livez: "ok HTTP200"\)$/);
    expect(
      await gate(rollback, [
        {
          tie: [
            [100, false],
            [150, true],
          ],
        },
        { proc: [100, false] },
        { proc: [300, false] },
      ]),
    ).toBe(undefined);
  });
});
