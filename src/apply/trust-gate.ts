/**
 * The live trust gate: after a kubelet restarts with a new client CA, or a kube-apiserver with new
 * kubelet client flags, prove the channel between them works. From a control plane of the node's
 * cluster, one HTTPS request to the kubelet's /healthz with the kubelet client certificate and key
 * that control plane's running kube-apiserver presents (read there from its command line, so a
 * control plane whose own change was rolled back is probed with what it really uses; the key stays
 * on it). 200 or 403 (authenticated, not authorized) passes; 401 fails the gate, which rolls the
 * changed node back like any other gate. A kubelet whose door this run closed (anonymous requests
 * refused, AlwaysAllow off: the controls on channel `kubelet-access`) is proved the way `kubectl
 * logs` uses it: the pair must get 200 from its `/pods` (401 or 403 fails, as does a control plane
 * that presents no pair at all), and one request with no credentials must be refused (401, or 403
 * where only the authorization mode was closed); served with 200, the door is still open and the
 * gate fails. The kubelet asks for a client certificate without requiring
 * one, so it never refuses an untrusted one in the TLS handshake: a handshake that fails, nothing
 * listening at the address the inventory gives, or no curl or openssl proves nothing either way, and
 * is reported as "not proven", never as a pass.
 *
 * The callers of a changed kubelet are the control planes of its cluster in the inventory, in the
 * run or not: one outside the run is found read-only before the rollout (trust-callers.ts), and is
 * only read and probed from, never changed or locked.
 */
import { changesChannel } from '../controls/index.js';
import type { NodeTarget } from '../inventory/types.js';
import { trustProbe, type ProbeAnswer, type ProbeCaller } from '../node/changes.js';
import { NodeError } from '../errors.js';
import { StepError } from '../node/remote.js';
import type { NodeSession } from '../node/ssh/index.js';
import type { NodePlan } from '../plan/types.js';
import type { Clock } from './clock.js';

export interface FleetNode {
  plan: NodePlan;
  target: NodeTarget;
}

/** A node a probe runs on: in the run, or a control plane of the inventory outside it. */
export interface Caller {
  node: string;
  target: NodeTarget;
  /** The host key it was planned (or, outside the run, read) against; the probe's session must match. */
  hostKey: string | null;
}

/** Control planes of the inventory outside the run, found read-only (trust-callers.ts). */
export interface OutsideCallers {
  /** Reached, and a control plane of `cluster` (a kube-apiserver there, or its manifest). */
  callers: (Caller & { cluster: string })[];
  /**
   * Inventory nodes that may be control planes but could not be read, and why. `cluster` is the
   * inventory's cluster when it gives one; without it the node may belong to any cluster named by CA.
   */
  unreached: { node: string; cluster?: string; why: string }[];
}

export const NO_OUTSIDE: OutsideCallers = { callers: [], unreached: [] };

const callerOf = (n: FleetNode): Caller => ({ node: n.plan.node, target: n.target, hostKey: n.plan.hostKey });

/** One run of the probe script on a control plane: the kubelets it asks. */
export interface ProbeSpec {
  from: Caller;
  /** `door`: a kubelet whose door this run closed, asked at /pods, where only 200 passes. */
  to: { node: string; url: string; door?: true }[];
  /** The same kubelets asked once with no credentials: they must refuse. */
  anonymous?: { node: string; url: string }[];
}

export interface ProbeRecord {
  from: string;
  to: string;
  url: string;
  /** The certificate the caller's kube-apiserver presents (a path on the caller); empty when none. */
  certificate: string;
  /** `none`: asked with no credentials at all (a closed door must refuse it). */
  credentials?: 'none';
  /** A kubelet whose door this run closed: only 200 proves the channel. */
  door?: true;
  answer: string;
  /**
   * For the apiserver's pair: trusted, rejected (the gate fails) or not proven. With no credentials:
   * refused (the door is closed), served (it is still open: the gate fails) or not proven.
   */
  verdict: 'trusted' | 'rejected' | 'not proven' | 'refused' | 'served';
  /** Which path proved the channel: an SSH probe from a control plane, or the API server's node proxy (cluster/api-gate.ts). */
  path: 'ssh' | 'api-server';
  /** What the API server said, when it did not answer 200. */
  detail?: string;
}

export interface TrustResult {
  records: ProbeRecord[];
  /** Checks that could not run, and why. */
  skipped: string[];
}

const LOOPBACK = /^(127\.|localhost$|::1$)/;

/** The kubelet's /healthz URL as a control plane dials it (the inventory's address), or why there is none. */
export function kubeletUrl(
  n: FleetNode,
  from: string,
  path: 'healthz' | 'pods' = 'healthz',
): { url: string } | { why: string } {
  const port = n.plan.trust?.kubelet?.port ?? 10250;
  const host = n.target.host;
  if (!/^[A-Za-z0-9.-]+$/.test(host) && !/^[0-9A-Fa-f:]+$/.test(host))
    return { why: `${n.plan.node}'s address "${host}" is not a host name or IP address ${from} can dial` };
  if (LOOPBACK.test(host) && from !== n.plan.node)
    return {
      why: `${n.plan.node}'s inventory address ${host} is loopback (a tunnel?): not an address ${from} reaches its kubelet at`,
    };
  return { url: `https://${host.includes(':') ? `[${host}]` : host}:${port}/${path}` };
}

/**
 * Pure: the probes that prove the channels `changed` now depends on, or why each could not run.
 * `applied`: nodes this run has changed so far (a planned client CA is in place once applied).
 * `outside`: control planes of the inventory outside the run, callers of a changed kubelet too.
 */
export function probesFor(
  changed: FleetNode,
  fleet: readonly FleetNode[],
  applied: ReadonlySet<string>,
  outside: OutsideCallers = NO_OUTSIDE,
): { probes: ProbeSpec[]; skipped: string[] } {
  const plan = changed.plan;
  const name = plan.node;
  const kubeletChanged = changesKubelet(plan);
  const apiserverChanged = changesApiserver(plan);
  const probes: ProbeSpec[] = [];
  const skipped: string[] = [];
  if (!kubeletChanged && !apiserverChanged) return { probes, skipped };
  if (!plan.cluster)
    return {
      probes,
      skipped: [
        `kubemend could not tell which cluster ${name} belongs to (no cluster CA found; set cluster: in the inventory)`,
      ],
    };
  const sameCluster = fleet.filter((n) => n.plan.cluster === plan.cluster && n.plan.status !== 'error');
  /** A kubelet's door is closed once this run has applied a change on channel kubelet-access to it. */
  const closed = (n: FleetNode) => (n.plan.node === name || applied.has(n.plan.node)) && closesDoor(n.plan);
  const ask = (from: Caller, to: FleetNode) => {
    const door = closed(to);
    const where = kubeletUrl(to, from.node, door ? 'pods' : 'healthz');
    if ('why' in where) return void skipped.push(where.why);
    let spec = probes.find((p) => p.from.node === from.node);
    if (spec?.to.some((t) => t.url === where.url)) return;
    const target = { node: to.plan.node, url: where.url, ...(door ? { door: true as const } : {}) };
    if (spec) spec.to.push(target);
    else probes.push((spec = { from, to: [target] }));
    // Once per kubelet, from the first control plane that asks it: with no credentials at all.
    if (door && !probes.some((p) => p.anonymous?.some((a) => a.url === where.url)))
      spec.anonymous = [...(spec.anonymous ?? []), { node: to.plan.node, url: where.url }];
  };

  if (kubeletChanged && plan.trust?.kubelet) {
    // Every control plane of the cluster calls this kubelet, whatever this run did to it, and
    // whether this run selected it or not.
    const callers = [
      ...sameCluster.filter((n) => n.plan.role === 'control-plane').map(callerOf),
      ...outside.callers.filter((c) => c.cluster === plan.cluster),
    ];
    if (callers.length === 0) skipped.push(noCaller(changed, fleet, outside));
    for (const cp of callers) ask(cp, changed);
  }
  if (apiserverChanged) {
    const kubelets = verifyingKubelets(changed, fleet, applied);
    if (kubelets.length === 0)
      skipped.push(
        `no kubelet of cluster ${plan.cluster} with a client CA is in this run: nothing to prove ${name}'s new kubelet client certificate against`,
      );
    for (const k of kubelets) ask(callerOf(changed), k.plan.node === name ? changed : k);
  }
  return { probes, skipped };
}

/** The plan changes whom its kubelet trusts or lets in (kubelet-client-ca, anonymous-auth, authorization-mode). */
export const changesKubelet = (plan: NodePlan): boolean =>
  changesChannel(plan.changes, ['kubelet-trust', 'kubelet-access']);

/** The plan changes (or issues) the kubelet client pair its kube-apiserver presents. */
export const changesApiserver = (plan: NodePlan): boolean =>
  changesChannel(plan.changes, ['apiserver-identity']) || Boolean(plan.issue?.length);

/**
 * The kubelets of `changed`'s cluster that verify their callers once `changed` is applied, which
 * its kube-apiserver's new kubelet client certificate must satisfy: a kubelet with a client CA now,
 * one this run applied, and `changed`'s own kubelet when its plan gives it one.
 */
export function verifyingKubelets(
  changed: FleetNode,
  fleet: readonly FleetNode[],
  applied: ReadonlySet<string>,
): FleetNode[] {
  const { node: name, cluster } = changed.plan;
  if (cluster === undefined) return [];
  return fleet.filter(
    (n) =>
      n.plan.cluster === cluster &&
      n.plan.status !== 'error' &&
      n.plan.trust?.kubelet &&
      (n.plan.trust.kubelet.clientCA === 'now' ||
        applied.has(n.plan.node) ||
        (n.plan.node === name && changesKubelet(changed.plan))),
  );
}

/** Why no control plane could call the changed kubelet: none in the inventory, or none reached. */
function noCaller(changed: FleetNode, fleet: readonly FleetNode[], outside: OutsideCallers): string {
  const { node, cluster } = changed.plan;
  // Nodes of the run that could not be planned, and that may be control planes, were not reached either.
  const inRun = fleet
    .filter((n) => n.plan.status === 'error' && n.plan.role !== 'worker')
    .map((n) => ({
      node: n.plan.node,
      ...(n.target.cluster ? { cluster: n.target.cluster } : {}),
      why: n.plan.error ?? 'could not be read',
    }));
  // A node the inventory puts in no cluster may be a control plane of any cluster named by its CA.
  const maybe = [...inRun, ...outside.unreached].filter((u) =>
    u.cluster !== undefined ? u.cluster === cluster : changed.target.cluster === undefined,
  );
  const call = `call ${node}'s kubelet as the kube-apiserver does`;
  return maybe.length > 0
    ? `no control plane of cluster ${cluster ?? '?'} could be reached to ${call} (${maybe.map((u) => (u.why.startsWith(`${u.node}:`) ? u.why : `${u.node}: ${u.why}`)).join('; ')})`
    : `no control plane of cluster ${cluster ?? '?'} is in the inventory, so nothing could ${call}; add one to the inventory (it is only read and probed from) to prove the channel`;
}

/** Whether a plan closes the kubelet's door (a change on channel kubelet-access). */
export const closesDoor = (plan: NodePlan): boolean =>
  plan.status === 'change' && changesChannel(plan.changes, ['kubelet-access']);

/**
 * What an answer proves: 200/403 the kubelet authenticated the caller; 401 it did not trust it.
 * At a closed door (`door`) only 200 proves the channel `kubectl logs` uses: 403 is refused too.
 */
export function verdictOf(answer: string, door = false): ProbeRecord['verdict'] {
  if (answer === '200' || (answer === '403' && !door)) return 'trusted';
  if (answer === '401' || answer === '403' || answer === 'nopair') return 'rejected';
  return 'not proven';
}

/** What an answer to a request with no credentials proves: refused (401/403), or served (200). */
export function anonymousVerdict(answer: string): ProbeRecord['verdict'] {
  if (answer === '401' || answer === '403') return 'refused';
  if (/^2\d\d$/.test(answer)) return 'served';
  return 'not proven';
}

const MEANING: Record<string, string> = {
  nopair: 'the kube-apiserver there presents no kubelet client certificate: refused once the door is closed',
  '200': 'authenticated',
  '403': 'authenticated, not authorized',
  '401': 'Unauthorized: the kubelet does not trust the certificate',
  tls: 'the TLS handshake failed',
  connect: 'nothing answered at that address',
  timeout: 'no answer within 10 s',
  localcert: 'the certificate or key could not be used on the control plane',
  notool: 'neither curl nor openssl on the control plane',
};

const DOOR_MEANING: Record<string, string> = {
  '200': 'the kube-apiserver is authenticated and authorized, as kubectl logs needs',
  '403': 'Forbidden: authenticated, not authorized: kubectl logs/exec would fail',
};

const ANONYMOUS_MEANING: Record<string, string> = {
  '401': 'refused: the door is closed',
  '403': 'refused: anonymous, not authorized',
  '200': 'served: the kubelet still serves anyone',
};

export const describeProbe = (r: ProbeRecord): string =>
  r.path === 'api-server'
    ? `kube-apiserver → kubelet: ${r.answer} through the API server (${r.to} ${r.url.replace(/^.*\/proxy\//, 'proxy/')}: ${API_MEANING[r.answer] ?? r.detail ?? 'no proof either way'})`
    : r.credentials === 'none'
      ? `${r.from} → ${r.to} ${r.url} with no credentials: ${r.answer} (${ANONYMOUS_MEANING[r.answer] ?? MEANING[r.answer] ?? 'no proof either way'})`
      : `${r.from} → ${r.to} ${r.url}: ${r.answer} (${(r.door ? DOOR_MEANING[r.answer] : undefined) ?? MEANING[r.answer] ?? 'no proof either way'})`;

const API_MEANING: Record<string, string> = {
  '200': 'the kubelet trusts the API server',
  '401': "Unauthorized: the kubelet does not trust the API server's kubelet client certificate",
  '403': 'Forbidden: the kubelet does not authorize the API server',
  tls: 'the TLS handshake between the API server and the kubelet failed',
};

export interface TrustDeps {
  /** The session of the node being changed (a probe from itself runs there). */
  own: NodeSession;
  /** Opens a session to another node (checked against the host key it was planned or read against). */
  open: <T>(node: Caller, use: (s: NodeSession) => Promise<T>) => Promise<T>;
  clock: Clock;
}

const callerWhy = (node: string, c: ProbeCaller): string =>
  c.kind === 'ambiguous'
    ? `more than one root process could be ${node}'s kube-apiserver (pids ${c.pids.join(', ')}): not probed from there, no pair of theirs is used`
    : c.kind === 'none'
      ? `no kube-apiserver runs on ${node} now, so it calls no kubelet`
      : c.kind === 'badpath'
        ? `${node}'s kube-apiserver names a kubelet client certificate or key whose path holds a newline: not probed`
        : `${node}'s kube-apiserver presents no kubelet client certificate (it calls kubelets anonymously): nothing to prove`;

/** Runs the probes: each control plane once, and once more for answers that may only need a moment. */
export async function runTrustGate(
  changed: FleetNode,
  fleet: readonly FleetNode[],
  applied: ReadonlySet<string>,
  deps: TrustDeps,
  outside: OutsideCallers = NO_OUTSIDE,
): Promise<TrustResult> {
  const { probes, skipped } = probesFor(changed, fleet, applied, outside);
  const records: ProbeRecord[] = [];
  for (const p of probes) {
    const from = p.from.node;
    const on = (urls: string[], anonymous: string[]) =>
      from === changed.plan.node
        ? trustProbe(deps.own, urls, anonymous)
        : deps.open(p.from, (s) => trustProbe(s, urls, anonymous));
    const toRecords = (r: { caller: ProbeCaller; answers: ProbeAnswer[]; anonymous: ProbeAnswer[] }) => [
      ...(r.caller.kind !== 'pair'
        ? []
        : p.to.flatMap((t) => {
            const answer = r.answers.find((a) => a.url === t.url)?.answer;
            if (answer === undefined) return [];
            const certificate = r.caller.kind === 'pair' ? r.caller.certificate : '';
            return [
              {
                from,
                to: t.node,
                url: t.url,
                certificate,
                ...(t.door ? { door: true as const } : {}),
                answer,
                verdict: verdictOf(answer, t.door),
                path: 'ssh' as const,
              },
            ];
          })),
      ...(p.anonymous ?? []).flatMap((t) => {
        const answer = r.anonymous.find((a) => a.url === t.url)?.answer;
        if (answer === undefined) return [];
        const record: ProbeRecord = {
          from,
          to: t.node,
          url: t.url,
          certificate: '',
          credentials: 'none',
          answer,
          verdict: anonymousVerdict(answer),
          path: 'ssh',
        };
        return [record];
      }),
    ];
    const key = (r: ProbeRecord) => `${r.credentials ?? 'pair'} ${r.url}`;
    try {
      const first = await on(
        p.to.map((t) => t.url),
        (p.anonymous ?? []).map((t) => t.url),
      );
      let got: ProbeRecord[] = toRecords(first);
      if (first.caller.kind !== 'pair') {
        skipped.push(callerWhy(from, first.caller));
        // A closed door refuses a kube-apiserver that calls with no pair: kubectl logs/exec fail there.
        if (first.caller.kind === 'anonymous')
          got.push(
            ...p.to
              .filter((t) => t.door)
              .map((t) => ({
                from,
                to: t.node,
                url: t.url,
                certificate: '',
                door: true as const,
                answer: 'nopair',
                verdict: 'rejected' as const,
                path: 'ssh' as const,
              })),
          );
        records.push(...got);
        continue;
      }
      // A kubelet that has just restarted may need a moment on its port: once more for those.
      const again = got.filter((r) => r.verdict === 'not proven' && r.answer !== 'notool');
      if (again.length > 0) {
        await deps.clock.sleep(3000);
        const retried = toRecords(
          await on(
            again.filter((r) => !r.credentials).map((r) => r.url),
            again.filter((r) => r.credentials).map((r) => r.url),
          ),
        );
        got = got.map((r) => retried.find((x) => key(x) === key(r)) ?? r);
      }
      records.push(...got);
    } catch (e) {
      // The caller could not be reached or the script failed: the check did not run. A bug is a bug.
      if (!(e instanceof NodeError || e instanceof StepError)) throw e;
      skipped.push(`the probe could not run on ${from}: ${e.message}`);
    }
  }
  return { records, skipped };
}
