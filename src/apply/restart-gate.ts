/**
 * Restart and health gate: the one implementation apply, rollback and recovery share. A snapshot is
 * taken before the first write (a manifest change is noticed by the kubelet as soon as it lands, so
 * the apiserver processes to replace must be known before), then the restart, then the gates.
 */
import type { NodeModel } from '../facts/model.js';
import { restartKubelet, type Restart } from '../node/changes.js';
import type { NodeSession } from '../node/ssh/index.js';
import type { Playbook } from '../playbook/types.js';
import type { Clock } from './clock.js';
import {
  readApiserverState as apiserverState,
  readKubeletState as kubeletState,
  type KubeletState,
} from '../node/state.js';
import {
  apiserverLivezUrl,
  apiserverPids,
  kubeletProbe,
  type KubeletProbe,
  waitApiserverHealthy,
  waitKubeletHealthy,
} from './health.js';

/** A stage of the node sequence as the progress display shows it; `gate` when it is a timed wait. */
export type OnStage = (stage: string, detail?: string, gate?: { timeoutSec: number }) => void;

export interface Gate {
  timeouts: Playbook['timeouts'];
  clock: Clock;
  onStage?: OnStage;
}

/** What must restart, and what proves it came back. */
export interface RestartSpec {
  restarts: readonly Restart[];
  /** Flags the new kube-apiserver must carry (`--name=value`); empty: any new process. */
  expectApiserverFlags: readonly string[];
}

export interface Snapshot {
  kubelet: KubeletState | undefined;
  /** The kube-apiserver before the change; every candidate when more than one could be it (a tie). */
  apiserverPids: number[];
  /** How the kubelet's health is proven on this node (healthz, or its secure port; MainPID or not). */
  kubeletProbe: KubeletProbe;
  livezUrl: string;
}

/** A health gate said no (the node answered, but not healthy). Rolls the change back. */
export class GateError extends Error {
  override readonly name = 'GateError';
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

const kubeletRestarts = (r: readonly Restart[]) => r.some((x) => x !== 'static-pod:kube-apiserver');
const manifestRestarts = (r: readonly Restart[]) => r.includes('static-pod:kube-apiserver');

/** The state the gates compare against, read before anything is written. */
export async function snapshot(session: NodeSession, model: NodeModel, spec: RestartSpec): Promise<Snapshot> {
  const probe = kubeletProbe(model);
  const livezUrl = apiserverLivezUrl(model.apiserver.manifest?.flags ?? []);
  return {
    kubeletProbe: probe,
    livezUrl,
    kubelet: kubeletRestarts(spec.restarts) ? await kubeletState(session, probe) : undefined,
    apiserverPids: manifestRestarts(spec.restarts)
      ? apiserverPids(await apiserverState(session, livezUrl))
      : [],
  };
}

/**
 * Restarts what the change needs and waits for health: the kubelet with a new PID (MainPID, or a
 * new kubelet process where MainPID is a container client), active, its healthz ok (without
 * healthz: its secure port answering) and still so after a few seconds; a new kube-apiserver process with the expected
 * flags whose /livez answers. Throws GateError when a gate fails, StepError when a command fails.
 */
export async function restartAndGate(
  session: NodeSession,
  spec: RestartSpec,
  before: Snapshot,
  gate: Gate,
): Promise<void> {
  const t = gate.timeouts;
  if (kubeletRestarts(spec.restarts)) {
    gate.onStage?.('restart', 'kubelet');
    const probe = before.kubeletProbe;
    const prior = before.kubelet ?? (await kubeletState(session, probe));
    await restartKubelet(session, spec.restarts.includes('kubelet+daemon-reload'), 'restart: kubelet');
    const proof = probe.healthzUrl ? '/healthz' : `${probe.secureUrl ?? 'secure port'} answering`;
    const pid = probe.process ? 'a new kubelet process' : 'a new PID';
    gate.onStage?.('health', `kubelet ${proof} (${pid}, active)`, {
      timeoutSec: t.kubeletHealthySec + t.kubeletStableSec,
    });
    const h = await waitKubeletHealthy(session, {
      before: prior,
      probe,
      timeoutSec: t.kubeletHealthySec,
      stableSec: t.kubeletStableSec,
      clock: gate.clock,
    });
    if (!h.ok) throw new GateError('health: kubelet', h.reason);
  }
  if (manifestRestarts(spec.restarts)) {
    gate.onStage?.('health', 'kube-apiserver /livez', { timeoutSec: t.apiserverRestartSec });
    const h = await waitApiserverHealthy(session, {
      beforePids: before.apiserverPids,
      expect: [...spec.expectApiserverFlags],
      livezUrl: before.livezUrl,
      timeoutSec: t.apiserverRestartSec,
      clock: gate.clock,
    });
    if (!h.ok) throw new GateError('health: kube-apiserver', h.reason);
  }
}
