/**
 * What the kubelet-state and apiserver-state scripts see on a node, typed: their `Key=value`,
 * `PROC <pid> <base64 argv>` and `Livez=` lines are read here only.
 */
import { runScript } from './remote.js';
import type { NodeSession } from './ssh/types.js';

export interface KubeletState {
  mainPid: number;
  nRestarts: number;
  active: string;
  sub: string;
  /** The /healthz body ('' when not asked or no answer, 'unchecked' without curl or wget). */
  healthz: string;
  /** HTTP status of the secure port's /healthz ('' when not asked, 'unchecked' without curl or wget). */
  secure: string;
  /**
   * The node's kubelet processes (root, in kubelet.service's cgroup or its container's:
   * src/node/scripts/lib/proc-identity.sh) with the wanted argv; asked only when MainPID is not the kubelet.
   */
  kubeletPids: number[];
}

/** What to ask kubelet-state (apply/health.ts KubeletProbe). */
export interface KubeletStateQuery {
  healthzUrl: string | null;
  secureUrl: string | null;
  process: { comm: string; argvIncludes: string[] } | null;
}

/** The answer of the kube-apiserver's /livez; `text` as the script printed it, for messages. */
export type Livez = { text: string } &
  /** The node has neither curl nor wget. */
  (
    | { kind: 'unchecked' }
    /** `body` as served (at most 64 bytes), `status` when curl gave one (wget fails on non-2xx). */
    | { kind: 'answer'; body: string; status?: number }
  );

export interface ApiserverState {
  processes: { pid: number; argv: string[] }[];
  /**
   * More than one root process could be the node's kube-apiserver (proc-identity.sh): none of them is
   * in `processes`. In the middle of a static pod's restart that is the old and the new one for a
   * moment: not settled yet, never a pick by /proc order.
   */
  tied: { pid: number; argv: string[] }[];
  livez: Livez;
}

export async function readKubeletState(
  session: NodeSession,
  probe: KubeletStateQuery,
): Promise<KubeletState> {
  const r = await runScript(
    session,
    'kubelet-state',
    [probe.healthzUrl ?? '', probe.secureUrl ?? '', probe.process?.comm ?? ''],
    { step: 'health: kubelet', timeoutSec: 30 },
  );
  return parseKubeletState(r.stdout, probe.process?.argvIncludes);
}

/** kubelet-state's output; `want`: the argv words a kubelet process must carry (undefined: none asked). */
export function parseKubeletState(stdout: string, want?: readonly string[]): KubeletState {
  const v = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
  return {
    mainPid: Number(v('MainPID')) || 0,
    nRestarts: Number(v('NRestarts')) || 0,
    active: v('ActiveState'),
    sub: v('SubState'),
    healthz: v('Healthz'),
    secure: v('Secure'),
    kubeletPids: want
      ? processLines(stdout)
          .filter((p) => want.every((w) => p.argv.includes(w)))
          .map((p) => p.pid)
      : [],
  };
}

export async function readApiserverState(session: NodeSession, livezUrl: string): Promise<ApiserverState> {
  const r = await runScript(session, 'apiserver-state', [livezUrl], {
    step: 'health: kube-apiserver',
    timeoutSec: 30,
  });
  return {
    processes: processLines(r.stdout),
    tied: processLines(r.stdout, 'TIE'),
    livez: parseLivez(/^Livez=(.*)$/m.exec(r.stdout)?.[1]?.trim() ?? ''),
  };
}

/** The text after `Livez=`: "unchecked", the body with curl's " HTTP<code>" after it, or wget's body. */
export function parseLivez(text: string): Livez {
  if (text === 'unchecked') return { kind: 'unchecked', text };
  const m = /^(.*) HTTP(\d{3})$/s.exec(text);
  return m
    ? { kind: 'answer', body: m[1] ?? '', status: Number(m[2]), text }
    : { kind: 'answer', body: text, text };
}

/** `PROC <pid> <base64 argv>` lines (or `TIE …`); anything else (or a pid that is not a number) is skipped. */
function processLines(stdout: string, tag: 'PROC' | 'TIE' = 'PROC'): { pid: number; argv: string[] }[] {
  return stdout
    .split('\n')
    .map((l) => new RegExp(`^${tag} ([1-9]\\d{0,9}) ([A-Za-z0-9+/=]*)$`).exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      pid: Number(m[1]),
      argv: Buffer.from(m[2] ?? '', 'base64')
        .toString('utf8')
        .split('\0')
        .filter(Boolean),
    }));
}
