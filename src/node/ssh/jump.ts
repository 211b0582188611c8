/**
 * ProxyJump: connect to each jump host in order, open a direct-tcpip channel from it to the next
 * hop, and run the next SSH connection over that channel. Every hop's host key is verified against
 * the node's known_hosts file; every error names the hop; on failure every hop opened is closed.
 */
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { NodeError } from '../../errors.js';
import type { NodeTarget } from '../../inventory/types.js';
import { connectHop, isClosed } from './connect.js';
import type { Hop, HopSpec } from './connect.js';
import type { SessionOptions } from './types.js';

export interface Chain {
  /** Outermost jump host first, the node last. */
  clients: Client[];
  node: Hop;
}

export function hopSpecs(target: NodeTarget): HopSpec[] {
  const jumps: HopSpec[] = target.proxyJump.map((j) => ({
    node: target.name,
    label: `jump host ${j.user}@${j.host}:${j.port} (for node ${target.name})`,
    jump: true,
    host: j.host,
    port: j.port,
    user: j.user,
    // A jump host with no key of its own uses the node's: an inventory that names one key for
    // the fleet expects it to open the bastion too.
    ...(j.identityFile || target.identityFile ? { identityFile: j.identityFile ?? target.identityFile } : {}),
    knownHostsFile: target.knownHostsFile,
  }));
  const last: HopSpec = {
    node: target.name,
    label: `node ${target.name}`,
    jump: false,
    host: target.host,
    port: target.port,
    user: target.user,
    ...(target.identityFile ? { identityFile: target.identityFile } : {}),
    knownHostsFile: target.knownHostsFile,
  };
  return [...jumps, last];
}

export async function connectChain(target: NodeTarget, opts: SessionOptions): Promise<Chain> {
  const specs = hopSpecs(target);
  const clients: Client[] = [];
  try {
    let sock: Duplex | undefined;
    let hop: Hop | undefined;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const via = i > 0 ? specs[i - 1] : undefined;
      if (via && hop) sock = await forward(hop.client, via, spec, opts.connectTimeoutSec);
      hop = await connectHop(spec, opts, sock);
      clients.push(hop.client);
    }
    return { clients, node: hop! };
  } catch (err) {
    await closeClients(clients);
    throw err;
  }
}

/** A direct-tcpip channel from `via` to the next hop, within the connect timeout. */
function forward(client: Client, via: HopSpec, to: HopSpec, timeoutSec: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () => {
        done = true;
        reject(
          new NodeError(
            to.node,
            `${via.label}: connect ETIMEDOUT ${to.host}:${to.port}`,
            'timeout',
            `check that ${to.host}:${to.port} is reachable from the jump host ${via.host}; or raise --connect-timeout`,
          ),
        );
      },
      Math.max(1, timeoutSec * 1000),
    );
    client.forwardOut('127.0.0.1', 0, to.host, to.port, (err, channel) => {
      if (done) {
        // Too late: the caller has given up; do not leak the channel.
        channel?.destroy();
        return;
      }
      done = true;
      clearTimeout(timer);
      if (err) {
        reject(
          new NodeError(
            to.node,
            `${via.label}: cannot open a connection to ${to.host}:${to.port}: ${err.message.replace(/^\(SSH\) /, '')}`,
            'unreachable',
            `check that ${to.host}:${to.port} is up and reachable from ${via.host}, and that the jump host ` +
              `allows TCP forwarding (AllowTcpForwarding)`,
          ),
        );
        return;
      }
      resolve(channel);
    });
  });
}

/** Innermost first; waits briefly for each to close, then destroys it. */
export async function closeClients(clients: readonly Client[]): Promise<void> {
  for (const client of [...clients].reverse()) await closeClient(client);
}

function closeClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    if (isClosed(client)) return resolve();
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 2000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}
