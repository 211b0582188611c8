import { NodeError } from '../errors.js';
import { parseFacts } from '../facts/parse.js';
import type { NodeFacts } from '../facts/types.js';
import { gatherScript, type GatherOptions } from './gather-script.js';
import type { NodeSession } from './ssh/index.js';

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs the gather script on the node (one remote command) and decodes what it printed. */
export async function gatherFacts(session: NodeSession, opts: GatherOptions = {}): Promise<NodeFacts> {
  const result = await session.exec(`sh -c ${shq(gatherScript(opts))}`, { timeoutSec: 120 });
  const facts = parseFacts(result.stdout, opts.maxFileBytes);
  if (!facts.complete) {
    const detail =
      result.stderr.trim() ||
      (result.truncated ? 'output too large' : `exit code ${result.code ?? 'signal'}`);
    throw new NodeError(
      session.node,
      `${session.node}: fact gathering did not finish (${detail})`,
      'remote-command',
      'check that /bin/sh, base64 and awk exist on the node; run with -v for details',
    );
  }
  if (facts.uid !== 0)
    throw new NodeError(
      session.node,
      `${session.node}: facts were gathered as uid ${facts.uid ?? '?'}, not root: key files and manifests may be unreadable`,
      'permission',
      'connect as root or set become: sudo for this node',
    );
  return facts;
}
