import { lastFlag, parseFlags, type Flag } from '../facts/flags.js';
import { kubeletHealth } from '../facts/kubelet-health.js';
import type { NodeModel } from '../facts/model.js';
import {
  readApiserverState as apiserverState,
  readKubeletState as kubeletState,
  type ApiserverState,
  type KubeletState,
  type Livez,
} from '../node/state.js';
import type { NodeSession } from '../node/ssh/index.js';
import type { Clock } from './clock.js';

/**
 * How the gate proves a restarted kubelet healthy on this node (from kubeletHealth): its /healthz
 * when it serves one; otherwise its secure port answering over TLS. When kubelet.service's MainPID
 * is not the kubelet (a container), the kubelet is found by its process name and argv among the
 * node's own processes (proc-identity.sh): a user's process of that name never counts.
 */
export interface KubeletProbe {
  healthzUrl: string | null;
  /** `https://<address>:<port>/healthz`, asked only when there is no healthz URL. */
  secureUrl: string | null;
  /** How to find the kubelet process, or null when MainPID is the kubelet. */
  process: { comm: string; argvIncludes: string[] } | null;
}

export function kubeletProbe(model: NodeModel): KubeletProbe {
  const h = kubeletHealth(model);
  return {
    healthzUrl: h.healthzUrl,
    secureUrl: h.healthzUrl ? null : `https://${h.securePort.address}:${h.securePort.port}/healthz`,
    process: h.mainPidIsKubelet ? null : h.process,
  };
}

/** Where the kubelet answers /healthz (node-facts §7), or null when healthzPort is 0. */
export function kubeletHealthzUrl(model: NodeModel): string | null {
  return kubeletHealth(model).healthzUrl;
}

/** A bind address as the host of a URL: loopback for "every address", IPv6 in brackets. */
function urlHost(address: unknown): string {
  const a = typeof address === 'string' ? address : '';
  if (!a || a === '0.0.0.0' || a === '::') return '127.0.0.1';
  return a.includes(':') ? `[${a}]` : a;
}

/**
 * Where the kube-apiserver answers /livez: its --secure-port (6443) on its --bind-address, loopback
 * when it listens on every address. An apiserver bound to the node's IP does not answer on 127.0.0.1.
 */
export function apiserverLivezUrl(flags: readonly Flag[]): string {
  const port = Number(lastFlag(flags, 'secure-port')?.value ?? 6443) || 6443;
  return `https://${urlHost(lastFlag(flags, 'bind-address')?.value)}:${port}/livez`;
}

/**
 * /livez says the new apiserver serves: "ok" (HTTP 200), or 401/403 where anonymous requests are
 * disabled (it answered over TLS, which is as much as can be known without credentials), or
 * unchecked on a node without curl or wget (the new process with the new flags still gates).
 */
export function livezAnswers(livez: Livez): boolean {
  if (livez.kind === 'unchecked') return true;
  if (livez.status === undefined) return livez.body === 'ok';
  return (livez.status === 200 && livez.body === 'ok') || livez.status === 401 || livez.status === 403;
}

/** Any HTTP status from the secure port proves it serves (401/403: it wants credentials); 000 is none. */
export const secureAnswers = (status: string): boolean =>
  /^[1-5]\d\d$/.test(status) || status === 'unchecked';

// "unchecked": the node has neither curl nor wget; the PID and systemd state still gate.
function healthy(s: KubeletState, probe: KubeletProbe): boolean {
  if (s.active !== 'active' || s.mainPid <= 0) return false;
  if (probe.process && s.kubeletPids.length === 0) return false;
  return probe.healthzUrl !== null
    ? s.healthz === 'ok' || s.healthz === 'unchecked'
    : secureAnswers(s.secure);
}

/**
 * The kubelet process that started since `before`: a new MainPID, or where MainPID is not the
 * kubelet, a kubelet process of the node's (by name and argv) that was not running before.
 */
export function newKubeletPid(
  s: KubeletState,
  before: KubeletState,
  probe: KubeletProbe,
): number | undefined {
  if (probe.process) return s.kubeletPids.find((p) => !before.kubeletPids.includes(p));
  return s.mainPid > 0 && s.mainPid !== before.mainPid ? s.mainPid : undefined;
}

const stillRuns = (s: KubeletState, pid: number, probe: KubeletProbe): boolean =>
  probe.process ? s.kubeletPids.includes(pid) : s.mainPid === pid;

/**
 * After `systemctl restart kubelet`: a new kubelet process, kubelet.service active, its health
 * answer good (healthz ok, or without healthz its secure port answering), and still so after
 * `stableSec` (a kubelet that exits on a bad config looks active for a moment).
 */
export async function waitKubeletHealthy(
  session: NodeSession,
  opts: {
    before: KubeletState;
    probe: KubeletProbe;
    timeoutSec: number;
    stableSec: number;
    clock: Clock;
  },
): Promise<{ ok: true; state: KubeletState } | { ok: false; reason: string; state: KubeletState }> {
  const { probe } = opts;
  const deadline = opts.clock.now() + opts.timeoutSec * 1000;
  let state = await kubeletState(session, probe);
  while (opts.clock.now() < deadline) {
    const pid = newKubeletPid(state, opts.before, probe);
    if (pid !== undefined && healthy(state, probe)) {
      await opts.clock.sleep(opts.stableSec * 1000);
      const later = await kubeletState(session, probe);
      if (stillRuns(later, pid, probe) && later.nRestarts === state.nRestarts && healthy(later, probe))
        return { ok: true, state: later };
      state = later;
      continue;
    }
    await opts.clock.sleep(1000);
    state = await kubeletState(session, probe);
  }
  return {
    ok: false,
    reason: `kubelet not healthy after ${opts.timeoutSec}s: ${whyNot(state, opts.before, probe)}`,
    state,
  };
}

function whyNot(state: KubeletState, before: KubeletState, probe: KubeletProbe): string {
  if (newKubeletPid(state, before, probe) === undefined)
    return probe.process
      ? `no new kubelet process (named ${probe.process.comm}${
          probe.process.argvIncludes.length
            ? ` with ${probe.process.argvIncludes.map((w) => JSON.stringify(w)).join(' ')}`
            : ''
        }) started; running: ${state.kubeletPids.length ? state.kubeletPids.join(', ') : 'none'}`
      : `the kubelet kept its old PID ${state.mainPid}`;
  if (state.active !== 'active')
    return `the kubelet is ${state.active} (${state.sub}), ${state.nRestarts - before.nRestarts} restarts since`;
  if (probe.process && state.kubeletPids.length === 0) return 'its kubelet process is gone';
  return probe.healthzUrl !== null
    ? `the kubelet's healthz answered ${state.healthz ? JSON.stringify(state.healthz) : 'nothing'}`
    : `the kubelet has no healthz (healthzPort 0) and its secure port ${probe.secureUrl ?? ''} answered ${
        /^[1-5]\d\d$/.test(state.secure) ? `HTTP ${state.secure}` : 'nothing'
      }`;
}

/** The pids the gate compares against: the node's kube-apiserver, or every candidate of a tie. */
export const apiserverPids = (s: ApiserverState): number[] => [...s.processes, ...s.tied].map((p) => p.pid);

/**
 * After a manifest change: a kube-apiserver process that was not running before, whose argv
 * carries every expected flag (`--name=value`, in whatever form the manifest writes it: `--name value`
 * is the same flag), and whose /livez answers ok. A tie (two root kube-apiservers of the same rank,
 * as the old and the new static pod are for a moment) is not settled yet: the gate waits, and when
 * it lasts to the deadline, fails naming every candidate.
 */
export async function waitApiserverHealthy(
  session: NodeSession,
  opts: { beforePids: number[]; expect: string[]; livezUrl: string; timeoutSec: number; clock: Clock },
): Promise<{ ok: true; pid: number } | { ok: false; reason: string }> {
  const deadline = opts.clock.now() + opts.timeoutSec * 1000;
  let last: ApiserverState = { processes: [], tied: [], livez: { kind: 'answer', body: '', text: '' } };
  while (opts.clock.now() < deadline) {
    last = await apiserverState(session, opts.livezUrl);
    const fresh = last.processes.find(
      (p) => !opts.beforePids.includes(p.pid) && carriesFlags(p.argv, opts.expect),
    );
    if (fresh && last.tied.length === 0 && livezAnswers(last.livez)) return { ok: true, pid: fresh.pid };
    await opts.clock.sleep(1000);
  }
  const want = opts.expect.length ? ` with ${opts.expect.join(' ')}` : '';
  const livez = `/livez: "${last.livez.text || 'no answer'}"`;
  if (last.tied.length > 0) {
    const named = last.tied
      .map(
        (p) =>
          `${p.pid} (${opts.beforePids.includes(p.pid) ? 'running before the change' : 'new'}, ${
            carriesFlags(p.argv, opts.expect)
              ? want
                ? 'with the expected flags'
                : 'any flags'
              : 'without the expected flags'
          })`,
      )
      .join(', ');
    return {
      ok: false,
      reason: `no single kube-apiserver${want} settled within ${opts.timeoutSec}s: ${last.tied.length} root processes could be the node's kube-apiserver, so none is taken: ${named}; stop the one that is not the node's (${livez})`,
    };
  }
  const running = last.processes.map((p) => p.pid);
  return {
    ok: false,
    reason: `no healthy kube-apiserver${want} within ${opts.timeoutSec}s (running: ${
      running.length ? running.join(', ') : 'none'
    }; ${livez})`,
  };
}

/** argv sets every `--name=value` in `expected`, in either of the forms the apiserver accepts. */
export function carriesFlags(argv: readonly string[], expected: readonly string[]): boolean {
  const flags = parseFlags(argv);
  return expected.every((e) => {
    const m = /^--([^=]+)=(.*)$/.exec(e);
    return m !== null && lastFlag(flags, m[1] ?? '')?.value === m[2];
  });
}
