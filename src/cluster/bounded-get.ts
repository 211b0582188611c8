/**
 * One GET to the API server with the kubeconfig's credentials (token, client certificate, exec
 * plugin, CA: as the official client applies them), bounded: the whole request must end within a
 * timeout, and at most `maxBytes` of the body is read (then the connection is closed). A node
 * proxy answer comes from a kubelet, i.e. from the node itself: it must neither hang kubemend nor
 * fill its memory. The raw status and content type are kept: a kubelet's 401 relayed by the API
 * server (plain text) and the API server's own 401 (a JSON Status) differ only there.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawAnswer {
  status: number;
  contentType: string;
  /** At most maxBytes of the body, as UTF-8. */
  body: string;
  truncated: boolean;
}

export interface Bounds {
  timeoutMs: number;
  maxBytes: number;
}

/** ~10 s per request; 4 MiB of body (a large /pods list fits; the gate needs only the status). */
export const PROXY_BOUNDS: Bounds = { timeoutMs: 10_000, maxBytes: 4 * 1024 * 1024 };

/** The request took longer than its bound: the answer proves nothing. */
export class TimedOut extends Error {
  override readonly name = 'TimedOut';
}

export async function boundedGet(config: KubeConfig, url: URL, bounds: Bounds): Promise<RawAnswer> {
  const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json, */*' } };
  await config.applyToHTTPSOptions(opts);
  const plain = url.protocol === 'http:';
  if (plain) delete opts.agent;
  return new Promise<RawAnswer>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const req = (plain ? http : https).request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (truncated: boolean): void =>
        settle(() =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
            truncated,
          }),
        );
      res.on('data', (chunk: Buffer) => {
        const room = bounds.maxBytes - size;
        if (chunk.length < room) {
          chunks.push(chunk);
          size += chunk.length;
          return;
        }
        chunks.push(chunk.subarray(0, room));
        size = bounds.maxBytes;
        done(true);
        req.destroy();
      });
      res.on('end', () => done(false));
      res.on('error', (error) => settle(() => reject(error)));
    });
    const timer = setTimeout(() => {
      settle(() => reject(new TimedOut(`no answer within ${bounds.timeoutMs / 1000} s`)));
      req.destroy();
    }, bounds.timeoutMs);
    req.on('error', (error) => settle(() => reject(error)));
    req.end();
  });
}
