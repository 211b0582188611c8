import { lastFlag, parseFlags, type Flag } from '../facts/flags.js';
import type { NodeModel } from '../facts/model.js';
import { runScript } from '../node/remote.js';
import type { NodeSession } from '../node/ssh/index.js';
import type { Clock } from './clock.js';

export interface KubeletState {
  mainPid: number;
  nRestarts: number;
  active: string;
  sub: string;
  healthz: string;
}

/** Where the kubelet answers /healthz (node-facts §7), or null when healthzPort is 0. */
export function kubeletHealthzUrl(model: NodeModel): string | null {
  const layers = [model.kubelet.config?.data, ...(model.kubelet.configDir?.dropIns.map((d) => d.data) ?? [])];
  let port: unknown = 10248;
  let address: unknown = '127.0.0.1';
  for (const l of layers) {
    if (l && 'healthzPort' in l) port = l['healthzPort'];
    if (l && 'healthzBindAddress' in l) address = l['healthzBindAddress'];
  }
  const flags = model.kubelet.flags;
  port = lastFlag(flags, 'healthz-port')?.value ?? port;
  address = lastFlag(flags, 'healthz-bind-address')?.value ?? address;
  if (Number(port) === 0) return null;
  return `http://${urlHost(address)}:${Number(port)}/healthz`;
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

export async function kubeletState(session: NodeSession, healthzUrl: string | null): Promise<KubeletState> {
  const r = await runScript(session, 'kubelet-state', [healthzUrl ?? ''], {
    step: 'health: kubelet',
    timeoutSec: 30,
  });
  const v = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(r.stdout)?.[1]?.trim() ?? '';
  return {
    mainPid: Number(v('MainPID')) || 0,
    nRestarts: Number(v('NRestarts')) || 0,
    active: v('ActiveState'),
    sub: v('SubState'),
    healthz: v('Healthz'),
  };
}

/**
 * /livez says the new apiserver serves: "ok" (HTTP 200), or 401/403 where anonymous requests are
 * disabled (it answered over TLS, which is as much as can be known without credentials), or
 * "unchecked" on a node without curl or wget (the new process with the new flags still gates).
 */
export function livezAnswers(livez: string): boolean {
  const m = /^(.*) HTTP(\d{3})$/s.exec(livez);
  if (!m) return livez === 'ok' || livez === 'unchecked';
  return (m[2] === '200' && m[1] === 'ok') || m[2] === '401' || m[2] === '403';
}

export interface ApiserverState {
  processes: { pid: number; argv: string[] }[];
  livez: string;
}

export async function apiserverState(session: NodeSession, livezUrl: string): Promise<ApiserverState> {
  const r = await runScript(session, 'apiserver-state', [livezUrl], {
    step: 'health: kube-apiserver',
    timeoutSec: 30,
  });
  const processes = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('PROC '))
    .map((l) => {
      const [, pid, b64] = l.split(' ');
      return {
        pid: Number(pid),
        argv: Buffer.from(b64 ?? '', 'base64')
          .toString('utf8')
          .split('\0')
          .filter(Boolean),
      };
    });
  return { processes, livez: /^Livez=(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? '' };
}

// "unchecked": the node has neither curl nor wget; the PID and systemd state still gate.
const healthy = (s: KubeletState, url: string | null) =>
  s.active === 'active' && s.mainPid > 0 && (url === null || s.healthz === 'ok' || s.healthz === 'unchecked');

/**
 * After `systemctl restart kubelet`: a new MainPID, active, healthz ok, and still so after
 * `stableSec` (a kubelet that exits on a bad config looks active for a moment).
 */
export async function waitKubeletHealthy(
  session: NodeSession,
  opts: { before: KubeletState; url: string | null; timeoutSec: number; stableSec: number; clock: Clock },
): Promise<{ ok: true; state: KubeletState } | { ok: false; reason: string; state: KubeletState }> {
  const deadline = opts.clock.now() + opts.timeoutSec * 1000;
  let state = await kubeletState(session, opts.url);
  while (opts.clock.now() < deadline) {
    if (state.mainPid !== opts.before.mainPid && healthy(state, opts.url)) {
      await opts.clock.sleep(opts.stableSec * 1000);
      const later = await kubeletState(session, opts.url);
      if (later.mainPid === state.mainPid && later.nRestarts === state.nRestarts && healthy(later, opts.url))
        return { ok: true, state: later };
      state = later;
      continue;
    }
    await opts.clock.sleep(1000);
    state = await kubeletState(session, opts.url);
  }
  const why =
    state.mainPid === opts.before.mainPid
      ? `the kubelet kept its old PID ${state.mainPid}`
      : state.active !== 'active'
        ? `the kubelet is ${state.active} (${state.sub}), ${state.nRestarts - opts.before.nRestarts} restarts since`
        : `the kubelet's healthz answered "${state.healthz || 'nothing'}"`;
  return { ok: false, reason: `kubelet not healthy after ${opts.timeoutSec}s: ${why}`, state };
}

/**
 * After a manifest change: a kube-apiserver process that was not running before, whose argv
 * carries every expected flag (`--name=value`, in whatever form the manifest writes it: `--name value`
 * is the same flag), and whose /livez answers ok.
 */
export async function waitApiserverHealthy(
  session: NodeSession,
  opts: { beforePids: number[]; expect: string[]; livezUrl: string; timeoutSec: number; clock: Clock },
): Promise<{ ok: true; pid: number } | { ok: false; reason: string }> {
  const deadline = opts.clock.now() + opts.timeoutSec * 1000;
  let last: ApiserverState = { processes: [], livez: '' };
  while (opts.clock.now() < deadline) {
    last = await apiserverState(session, opts.livezUrl);
    const fresh = last.processes.find(
      (p) => !opts.beforePids.includes(p.pid) && carriesFlags(p.argv, opts.expect),
    );
    if (fresh && livezAnswers(last.livez)) return { ok: true, pid: fresh.pid };
    await opts.clock.sleep(1000);
  }
  const running = last.processes.map((p) => p.pid);
  return {
    ok: false,
    reason: `no healthy kube-apiserver with ${opts.expect.join(' ')} within ${opts.timeoutSec}s (running: ${
      running.length ? running.join(', ') : 'none'
    }; /livez: "${last.livez || 'no answer'}")`,
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
