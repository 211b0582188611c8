// The part of the kube-apiserver's API kubemend uses (issue 22): GET /api/v1/nodes and the node
// proxy /api/v1/nodes/NAME/proxy/PATH, with client-certificate (--client-ca-file) and bearer-token
// (--token-auth-file) authentication. It runs on the host as a managed control plane, or in a lab
// control plane as its kube-apiserver (then with that manifest's flags). The proxy dials the node's kubelet (InternalIP, port
// 10250) with --kubelet-client-certificate/--kubelet-client-key, as the real API server does, and
// relays the kubelet's answer: a kubelet that does not trust that certificate answers 401, and
// the caller sees 401. Every authenticated user may do everything (no RBAC), except the token
// user `forbidden`, who gets 403 like a user without RBAC rights.
import fs from 'node:fs';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';

/** Where a control plane of the lab finds the cluster's Node objects (test/lab/cluster-api.ts serveFromControlPlane). */
export const IN_NODE_NODES = '/etc/kubernetes/lab-cluster-nodes.json';

/**
 * Node objects: the JSON file KUBE_APISERVER_SIM_NODES names (the host-side managed control plane),
 * else IN_NODE_NODES when the lab wrote it into this control plane (the sim is its kube-apiserver).
 */
function readNodes(env) {
  const file = env.KUBE_APISERVER_SIM_NODES || (fs.existsSync(IN_NODE_NODES) ? IN_NODE_NODES : undefined);
  if (!file) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** --token-auth-file: CSV lines `token,user,uid[,"group1,group2"]`. */
function readTokens(file) {
  const tokens = new Map();
  if (!file) return tokens;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [token, user] = line.split(',');
    if (token && user) tokens.set(token.trim(), user.trim());
  }
  return tokens;
}

function status(res, code, reason, message) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    }),
  );
}

/**
 * @returns {((req, res, pathname: string) => void) | undefined} the handler for /api/…, or
 *   undefined when the lab gave no node list (the in-node control planes serve health only).
 */
export function clusterApi(flags, env) {
  const nodes = readNodes(env);
  if (!nodes) return undefined;
  const clientCa = flags.get('client-ca-file')
    ? new X509Certificate(fs.readFileSync(flags.get('client-ca-file')))
    : undefined;
  const tokens = readTokens(flags.get('token-auth-file'));
  // Without --kubelet-client-certificate/--kubelet-client-key the API server calls kubelets
  // anonymously (a kubelet that verifies callers answers 401: kubectl logs fails there).
  const kubeletClient =
    flags.get('kubelet-client-certificate') && flags.get('kubelet-client-key')
      ? {
          cert: fs.readFileSync(flags.get('kubelet-client-certificate')),
          key: fs.readFileSync(flags.get('kubelet-client-key')),
        }
      : {};

  const user = (req) => {
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Bearer ')) return tokens.get(auth.slice(7).trim()) ?? null;
    const peer = req.socket.getPeerX509Certificate?.();
    if (peer && clientCa && peer.checkIssued(clientCa) && peer.verify(clientCa.publicKey)) {
      return /CN=([^\n]+)/.exec(peer.subject)?.[1] ?? null;
    }
    return null;
  };

  const proxy = (res, node, rest) => {
    const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
    // No --kubelet-certificate-authority: the kubelet's serving certificate is not verified, as upstream.
    const call = https.get(
      { host: address, port, path: rest, ...kubeletClient, rejectUnauthorized: false, timeout: 10_000 },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, {
          'Content-Type': answer.headers['content-type'] ?? 'text/plain',
        });
        answer.pipe(res);
      },
    );
    call.on('timeout', () => call.destroy(new Error('i/o timeout')));
    call.on('error', (err) =>
      status(res, 502, 'ServiceUnavailable', `error trying to reach service: ${err.message}`),
    );
  };

  return (req, res, pathname) => {
    const who = user(req);
    if (who === null) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const parts = pathname.split('/'); // ['', 'api', 'v1', 'nodes', NAME, 'proxy', …]
    const resource = parts[4] === undefined ? 'nodes' : parts[5] === 'proxy' ? 'nodes/proxy' : 'nodes';
    const verb = parts[4] === undefined ? 'list' : 'get';
    if (parts[2] !== 'v1' || parts[3] !== 'nodes')
      return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (who === 'forbidden')
      return status(
        res,
        403,
        'Forbidden',
        `${resource} is forbidden: User "${who}" cannot ${verb} resource "${resource}" in API group "" at the cluster scope`,
      );
    if (parts[4] === undefined) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(
        JSON.stringify({
          kind: 'NodeList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items: nodes,
        }),
      );
    }
    const node = nodes.find((n) => n.metadata?.name === decodeURIComponent(parts[4]));
    if (!node) return status(res, 404, 'NotFound', `nodes "${parts[4]}" not found`);
    if (parts[5] === undefined) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(node));
    }
    if (parts[5] !== 'proxy')
      return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    return proxy(res, node, `/${parts.slice(6).join('/')}`);
  };
}
