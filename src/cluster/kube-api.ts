/**
 * The cluster's API server, through the official client (@kubernetes/client-node): kubeconfig
 * loading as kubectl does it (--kubeconfig, else KUBECONFIG's list, else ~/.kube/config; exec
 * credential plugins such as `aws eks get-token`; contexts; TLS), the node list, and the node
 * proxy. Every failure becomes a UsageError naming what to do about it.
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// Types only: the client is imported when a kubeconfig is used (it costs ~1 s to load).
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../errors.js';
import { boundedGet, PROXY_BOUNDS, TimedOut, type Bounds } from './bounded-get.js';
import type { ApiNodeObject } from './nodes.js';

export interface KubeOptions {
  /** --kubeconfig */
  kubeconfig?: string;
  /** --context */
  context?: string;
  env: NodeJS.ProcessEnv;
  homeDir?: string;
}

export interface Cluster {
  /** The cluster name kubemend uses (fleet grouping, messages): from the context. */
  name: string;
  context: string;
  server: string;
  /** The kubeconfig files read, for messages. */
  files: string[];
  api: CoreV1Api;
  /** The loaded kubeconfig, for requests the generated client cannot bound (node proxy). */
  config: KubeConfig;
  /** The context's cluster has insecure-skip-tls-verify: the API server's identity is not checked. */
  insecure: boolean;
  /** The node names the API server listed (set by listNodes; asked once when needed). */
  listed?: Promise<ReadonlySet<string>>;
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/;

/** The kubeconfig files kubectl would read, in order. */
export function kubeconfigFiles(opts: KubeOptions): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  const list = opts.env['KUBECONFIG'];
  if (list) return list.split(path.delimiter).filter((file) => file !== '');
  return [path.join(opts.homeDir ?? os.homedir(), '.kube', 'config')];
}

/** Loads the kubeconfig and picks the context; UsageError when either cannot be had. */
export async function openCluster(opts: KubeOptions): Promise<Cluster> {
  const files = kubeconfigFiles(opts);
  const where = opts.kubeconfig ? '--kubeconfig' : opts.env['KUBECONFIG'] ? 'KUBECONFIG' : 'the default';
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0)
    throw new UsageError(`no kubeconfig: ${files.join(', ')} (${where}) not found`, [
      'pass --kubeconfig FILE, set KUBECONFIG, or write ~/.kube/config (e.g. `aws eks update-kubeconfig --name CLUSTER`)',
    ]);
  const { CoreV1Api, KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(present[0]!);
    for (const file of present.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
  } catch (error) {
    throw new UsageError(`kubeconfig ${present.join(', ')} cannot be read: ${kubeconfigProblem(error)}`, [
      'check it with `kubectl config view`',
    ]);
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context))
      throw new UsageError(`--context ${opts.context}: no such context in ${present.join(', ')}`, [
        `contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        }`,
      ]);
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  if (!context || !cluster)
    throw new UsageError(`kubeconfig ${present.join(', ')} has no current context with a cluster`, [
      'pass --context NAME (`kubectl config get-contexts` lists them)',
    ]);
  return {
    name: clusterName(context.cluster, context.name),
    context: context.name,
    server: cluster.server,
    files: present,
    api: kc.makeApiClient(CoreV1Api),
    config: kc,
    insecure: cluster.skipTLSVerify === true,
  };
}

/**
 * Why a kubeconfig could not be parsed, without its text: the YAML parser's message quotes the
 * lines around the error, and those may hold a token or a client key. Only the reason and where.
 */
export function kubeconfigProblem(error: unknown): string {
  const e = error as { reason?: unknown; mark?: { line?: unknown; column?: unknown } } | undefined;
  if (typeof e?.reason === 'string') {
    const { line, column } = e.mark ?? {};
    const at =
      typeof line === 'number' && typeof column === 'number'
        ? ` (line ${line + 1}, column ${column + 1})`
        : '';
    return `${e.reason.slice(0, 120)}${at}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 200);
}

/** The context's cluster name, or its last path part (EKS: arn:…:cluster/NAME), or the context's. */
export function clusterName(cluster: string, context: string): string {
  const candidates = [cluster, cluster.split('/').at(-1) ?? '', context, context.split('/').at(-1) ?? ''];
  return candidates.find((name) => CLUSTER_NAME.test(name)) ?? 'cluster';
}

/** GET /api/v1/nodes (every page). */
export async function listNodes(cluster: Cluster): Promise<ApiNodeObject[]> {
  const items: ApiNodeObject[] = [];
  let next: string | undefined;
  do {
    const page = await cluster.api
      .listNode({ limit: 500, ...(next ? { _continue: next } : {}) })
      .catch((error: unknown) => {
        throw apiError(cluster, error, { verb: 'list', resource: 'nodes' });
      });
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next);
  cluster.listed = Promise.resolve(new Set(items.flatMap((item) => item.metadata?.name ?? [])));
  return items;
}

/**
 * The node names the API server lists: only those go through its node proxy (an inventory node
 * that merely says `cluster: NAME` is not a Node of that API server). Listed once; a failure to
 * list is an empty set, so the SSH probes decide.
 */
export function listedNames(cluster: Cluster): Promise<ReadonlySet<string>> {
  cluster.listed ??= listNodes(cluster).then(
    (items) => new Set(items.flatMap((item) => item.metadata?.name ?? [])),
    () => new Set<string>(),
  );
  return cluster.listed;
}

/** What the API server answered for GET /api/v1/nodes/NODE/proxy/PATH. */
export type ProxyAnswer =
  | { status: 200; body: string }
  | {
      status: number;
      refusedBy: 'kubelet' | 'api-server' | 'network';
      message: string;
      /** The message of the API server's own Status (JSON kind: Status), when it answered one. */
      apiStatus?: string;
    };

/**
 * GET the kubelet's PATH through the API server's node proxy: the API server dials the kubelet
 * with its own kubelet client certificate, the channel the two controls are about. A 401 or 403
 * whose body is the API server's own Status (JSON, kind: Status) is the API server refusing us
 * (expired token, RBAC on nodes/proxy); one with any other body (the kubelet's plain
 * "Unauthorized" / "Forbidden (user=…)") is the kubelet's answer relayed. Bounded in time and size
 * (bounded-get.ts): a timeout is a network failure, which proves nothing.
 */
export async function proxyGet(
  cluster: Cluster,
  node: string,
  kubeletPath: string,
  bounds: Bounds = PROXY_BOUNDS,
): Promise<ProxyAnswer> {
  const url = new URL(
    `${cluster.server.replace(/\/+$/, '')}/api/v1/nodes/${encodeURIComponent(node)}/proxy/${kubeletPath}`,
  );
  let raw;
  try {
    raw = await boundedGet(cluster.config, url, bounds);
  } catch (error) {
    const message =
      error instanceof TimedOut
        ? `the API server of context ${cluster.context} (${cluster.server}) gave no answer for ${node} proxy/${kubeletPath} within ${bounds.timeoutMs / 1000} s`
        : apiError(cluster, error, PROXY).message;
    return { status: 0, refusedBy: 'network', message };
  }
  if (raw.status === 200) return { status: 200, body: raw.body };
  const own = apiServerStatus(raw.body);
  const withStatus = own === undefined ? {} : { apiStatus: own };
  if ((raw.status === 401 || raw.status === 403) && own !== undefined)
    return {
      status: raw.status,
      refusedBy: 'api-server',
      message: httpError(cluster, raw.status, PROXY).message,
      ...withStatus,
    };
  if (raw.status === 401 || raw.status === 403)
    return { status: raw.status, refusedBy: 'kubelet', message: `the kubelet answered ${raw.status}` };
  return {
    status: raw.status,
    refusedBy: raw.status >= 500 ? 'kubelet' : 'api-server',
    message: `the API server answered ${raw.status}${own ? `: ${own.slice(0, 200)}` : ''}`,
    ...withStatus,
  };
}

/** The client's ApiException (an HTTP status from the API server); node's own errors have string codes. */
function isApiException(error: unknown): error is { code: number; body: unknown; message: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'body' in error;
}

const PROXY = { verb: 'get', resource: 'nodes/proxy' } as const;

function apiServerStatus(body: unknown): string | undefined {
  const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
  const parsed = (() => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  })();
  if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status')
    return String((parsed as { message?: unknown }).message ?? '');
  return undefined;
}

/** The API server's own HTTP refusal as one UsageError with the fix. */
function httpError(
  cluster: Pick<Cluster, 'context' | 'server'>,
  code: number,
  need: { verb: string; resource: string },
): UsageError {
  const at = `the API server of context ${cluster.context} (${cluster.server})`;
  if (code === 401)
    return new UsageError(`${at} refused the credentials (401 Unauthorized)`, [
      'the token or client certificate is expired or unknown: renew it (EKS: `aws sso login` / `aws eks update-kubeconfig`; GKE: `gcloud auth login`; AKS: `az login`), then try `kubectl get nodes`',
    ]);
  if (code === 403)
    return new UsageError(`${at} forbids ${need.verb} ${need.resource} (403 Forbidden)`, [
      `grant the user RBAC verb ${need.verb} on resource ${need.resource} (kubemend needs get/list nodes and get nodes/proxy; see README "Nodes from the cluster")`,
    ]);
  return new UsageError(`${at} answered ${code} to ${need.verb} ${need.resource}`, [
    'try `kubectl get nodes -v=6` with the same context',
  ]);
}

/** The client's failure as one UsageError with the fix. */
export function apiError(
  cluster: Pick<Cluster, 'context' | 'server'>,
  error: unknown,
  need: { verb: string; resource: string },
): UsageError {
  const at = `the API server of context ${cluster.context} (${cluster.server})`;
  if (isApiException(error)) return httpError(cluster, error.code, need);
  const message = error instanceof Error ? error.message : String(error);
  const cause =
    (error as { cause?: { code?: string } } | undefined)?.cause?.code ?? (error as { code?: string }).code;
  if (/certificate|self.signed|CERT_|UNABLE_TO_VERIFY/i.test(`${message} ${cause ?? ''}`))
    return new UsageError(`${at}: TLS failed (${message.slice(0, 200)})`, [
      "the server's certificate is not signed by the kubeconfig's certificate-authority-data: fetch a current kubeconfig for this cluster",
    ]);
  if (
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|network|socket/i.test(
      `${message} ${cause ?? ''}`,
    )
  )
    return new UsageError(`${at} cannot be reached (${message.slice(0, 200)})`, [
      'check the VPN or network path to the API server, or whether its endpoint is private (EKS: endpointPublicAccess; GKE: authorized networks)',
    ]);
  return new UsageError(`${at}: ${message.slice(0, 300)}`, [
    'an exec credential plugin failed? run the kubeconfig user command by hand (e.g. `aws eks get-token --cluster-name NAME`), then `kubectl get nodes`',
  ]);
}
