import { NodeError } from '../errors.js';
import { kubeletView } from '../facts/kubelet.js';
import { unreadPaths } from '../facts/model.js';
import { parseFacts } from './gather-parse.js';
import type { NodeFacts } from '../facts/types.js';
import { gatherCommand, type GatherOptions } from './gather-script.js';
import { overflowText } from './ssh/index.js';
import type { ExecResult, NodeSession } from './ssh/index.js';

/** Settings lead to settings (a relative --config to its clientCAFile): this many rounds at most. */
const MAX_ROUNDS = 3;

export interface Collected {
  facts: NodeFacts;
  /** The last run of the script, for error messages. */
  result: ExecResult;
}

/**
 * Runs the gather script (one remote command) through `run` and decodes what it printed. Runs it
 * again only when it must: a file changed while it was read (once), or the kubelet's settings lead
 * to a path the script could not follow (a relative one, which only the controller can resolve,
 * node-facts §1.1; one with a space), so the next run is given the absolute paths. Most nodes
 * take one run.
 */
export async function collectFacts(
  run: (command: string) => Promise<ExecResult>,
  opts: GatherOptions = {},
): Promise<Collected> {
  let current = opts;
  const once = async () => {
    const result = await run(gatherCommand(current));
    return { result, facts: parseFacts(result.stdout, current.maxFileBytes) };
  };
  let collected = await once();
  if (collected.facts.changedWhileRead) collected = await once();
  for (let round = 1; round < MAX_ROUNDS && collected.facts.complete; round++) {
    if (collected.facts.changedWhileRead) break;
    const need = unreadPaths(collected.facts, kubeletView(collected.facts));
    if (!need) break;
    current = {
      ...current,
      extraConfigs: [...(current.extraConfigs ?? []), ...need.configs],
      extraConfigDirs: [...(current.extraConfigDirs ?? []), ...need.configDirs],
      extraManifestDirs: [...(current.extraManifestDirs ?? []), ...need.manifestDirs],
      extraFiles: [...(current.extraFiles ?? []), ...need.files],
    };
    collected = await once();
  }
  return collected;
}

/** Gathers a node's facts over its session; fails with a NodeError that says what to do. */
export async function gatherFacts(session: NodeSession, opts: GatherOptions = {}): Promise<NodeFacts> {
  const { facts, result } = await collectFacts((command) => session.exec(command, { timeoutSec: 120 }), opts);
  if (facts.changedWhileRead)
    throw new NodeError(
      session.node,
      `${session.node}: files changed while they were read, twice in a row (one of ${facts.changedWhileRead.join(', ')})`,
      'remote-command',
      'something is rewriting these files right now; wait until it is done and run again',
    );
  if (result.truncated)
    throw new NodeError(
      session.node,
      `${session.node}: gather: the gather script ${overflowText(result.overflow ?? 'stdout')}`,
      'remote-command',
      'something on the node prints far more than its configuration files hold; look at the files kubemend reads (run with -v)',
    );
  if (!facts.complete) {
    // A few KiB of what it said: a node may send megabytes.
    const detail = result.stderr.slice(-4096).trim() || `exit code ${result.code ?? 'signal'}`;
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
