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
import type { CoreV1Api } from '@kubernetes/client-node';
import { UsageError } from '../errors.js';
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
    throw new UsageError(`kubeconfig ${present.join(', ')} cannot be read: ${(error as Error).message}`, [
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
  };
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
  return items;
}

/** What the API server answered for GET /api/v1/nodes/NODE/proxy/PATH. */
export type ProxyAnswer =
  | { status: 200; body: string }
  | { status: number; refusedBy: 'kubelet' | 'api-server' | 'network'; message: string };

/**
 * GET the kubelet's PATH through the API server's node proxy: the API server dials the kubelet
 * with its own kubelet client certificate, the channel the two controls are about. The caller
 * has already listed nodes with the same credentials, so a 401 or 403 here is the kubelet's
 * answer relayed, unless the body is the API server's own Status (RBAC on nodes/proxy).
 */
export async function proxyGet(cluster: Cluster, node: string, kubeletPath: string): Promise<ProxyAnswer> {
  try {
    const body = await cluster.api.connectGetNodeProxyWithPath({ name: node, path: kubeletPath });
    return { status: 200, body };
  } catch (error) {
    if (isApiException(error)) {
      const own = apiServerStatus(error.body);
      if (error.code === 403 && own?.includes('nodes/proxy'))
        return { status: 403, refusedBy: 'api-server', message: apiError(cluster, error, PROXY).message };
      if (error.code === 401 || error.code === 403)
        return { status: error.code, refusedBy: 'kubelet', message: `the kubelet answered ${error.code}` };
      return {
        status: error.code,
        refusedBy: error.code >= 500 ? 'kubelet' : 'api-server',
        message: `the API server answered ${error.code}${own ? `: ${own.slice(0, 200)}` : ''}`,
      };
    }
    return { status: 0, refusedBy: 'network', message: apiError(cluster, error, PROXY).message };
  }
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

/** The client's failure as one UsageError with the fix. */
export function apiError(
  cluster: Pick<Cluster, 'context' | 'server'>,
  error: unknown,
  need: { verb: string; resource: string },
): UsageError {
  const at = `the API server of context ${cluster.context} (${cluster.server})`;
  if (isApiException(error)) {
    if (error.code === 401)
      return new UsageError(`${at} refused the credentials (401 Unauthorized)`, [
        'the token or client certificate is expired or unknown: renew it (EKS: `aws sso login` / `aws eks update-kubeconfig`; GKE: `gcloud auth login`; AKS: `az login`), then try `kubectl get nodes`',
      ]);
    if (error.code === 403)
      return new UsageError(`${at} forbids ${need.verb} ${need.resource} (403 Forbidden)`, [
        `grant the user RBAC verb ${need.verb} on resource ${need.resource} (kubemend needs get/list nodes and get nodes/proxy; see README "Nodes from the cluster")`,
      ]);
    return new UsageError(`${at} answered ${error.code} to ${need.verb} ${need.resource}`, [
      'try `kubectl get nodes -v=6` with the same context',
    ]);
  }
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
