// The kubelet's two listeners: plain-HTTP healthz (healthzBindAddress:healthzPort) and the
// authenticated HTTPS API (address:port).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { authenticate, authorize, loadClientCA } from './kubelet-auth.mjs';

const HEALTHZ_RETRY_MS = 5000;
const VERBS = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
}

/** Like the real one, the healthz server retries every 5 s when it cannot listen, and the kubelet keeps running. */
export function startHealthz(config, log) {
  const server = http.createServer((req, res) =>
    new URL(req.url, 'http://x').pathname === '/healthz'
      ? send(res, 200, 'ok')
      : send(res, 404, '404 page not found\n'),
  );
  let timer;
  server.on('error', (err) => {
    log.error('Failed to start healthz server', { err });
    timer = setTimeout(listen, HEALTHZ_RETRY_MS);
  });
  const listen = () => server.listen(config.healthzPort, config.healthzBindAddress);
  if (config.healthzPort > 0) listen();
  return () => {
    clearTimeout(timer);
    server.close();
  };
}

/**
 * Starts the HTTPS API. Resolves once listening; rejects if it cannot listen (the real kubelet
 * then exits with "Failed to listen and serve").
 * @param {{ config: object, auth: object, cert: string, key: string, routes: Record<string, () => unknown>, log: object }} options
 */
export function startKubeletApi({ config, auth, cert, key, routes, log }) {
  const tlsOptions = { cert, key };
  if (auth.caPem) {
    // Ask for a certificate but let the request through without one (RequestClientCert);
    // trust is decided per request.
    Object.assign(tlsOptions, { requestCert: true, rejectUnauthorized: false, ca: auth.caPem });
  }
  const server = https.createServer(tlsOptions, (req, res) => {
    const identity = authenticate(req, auth);
    if (!identity) return send(res, 401, 'Unauthorized');
    if (!authorize(identity, auth)) {
      const verb = VERBS[req.method] ?? req.method.toLowerCase();
      return send(
        res,
        403,
        `Forbidden (user=${identity.user}, verb=${verb}, resource=nodes, subresource=proxy)`,
      );
    }
    const route = routes[new URL(req.url, 'https://x').pathname.replace(/\/$/, '')];
    if (!route) return send(res, 404, '404 page not found\n');
    const body = route();
    return typeof body === 'string'
      ? send(res, 200, body)
      : send(res, 200, JSON.stringify(body), 'application/json');
  });
  const stopCAReload = auth.caPem ? watchClientCA(server, tlsOptions, auth, log) : () => {};
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.address, () => {
      log.info('Starting to listen', { address: config.address, port: config.port });
      resolve(() => {
        stopCAReload();
        server.close();
      });
    });
  });
}

/**
 * New content at the same CA path is used without a restart (dynamic_cafile_content.go); a file
 * that stops parsing keeps the last good bundle.
 */
function watchClientCA(server, tlsOptions, auth, log) {
  const reload = () => {
    try {
      const caPem = loadClientCA(auth.caFile);
      if (caPem === auth.caPem) return;
      auth.caPem = caPem;
      server.setSecureContext({ ...tlsOptions, ca: caPem });
      log.info('Loaded a new CA Bundle and Verifier', { name: `client-ca-bundle::${auth.caFile}` });
    } catch (err) {
      log.error('Failed to load the CA bundle, keeping the previous one', { err });
    }
  };
  fs.watchFile(auth.caFile, { interval: 1000 }, reload);
  return () => fs.unwatchFile(auth.caFile, reload);
}
