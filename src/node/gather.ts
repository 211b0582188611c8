import { NodeError } from '../errors.js';
import { parseFacts } from '../facts/parse.js';
import type { NodeFacts } from '../facts/types.js';
import { gatherScript, type GatherOptions } from './gather-script.js';
import type { NodeSession } from './ssh/index.js';

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs the gather script on the node (one remote command) and decodes what it printed. */
export async function gatherFacts(session: NodeSession, opts: GatherOptions = {}): Promise<NodeFacts> {
  const command = `sh -c ${shq(gatherScript(opts))}`;
  let result = await session.exec(command, { timeoutSec: 120 });
  let facts = parseFacts(result.stdout, opts.maxFileBytes);
  // A file changed while it was read (a config being rewritten right then): once more, then say so.
  if (facts.changedWhileRead) {
    result = await session.exec(command, { timeoutSec: 120 });
    facts = parseFacts(result.stdout, opts.maxFileBytes);
  }
  if (facts.changedWhileRead)
    throw new NodeError(
      session.node,
      `${session.node}: files changed while they were read, twice in a row (one of ${facts.changedWhileRead.join(', ')})`,
      'remote-command',
      'something is rewriting these files right now; wait until it is done and run again',
    );
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
