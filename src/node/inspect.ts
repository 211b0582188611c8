import { NodeError } from '../errors.js';
import { nodeModel, type NodeModel } from '../facts/model.js';
import type { NodeTarget } from '../inventory/types.js';
import type { GatherOptions } from './gather-script.js';
import { gatherFacts } from './gather.js';
import { collectingEvery, collectNow, NODES_PER_COLLECTION } from './memory.js';
import { mapLimit, withSession, type SessionOptions } from './ssh/index.js';
import { chooseTransport, type Transport } from './ssh/transport.js';

/** Which SSH client was used for the node and why (audit JSON `nodes[].transport`, -v). */
export interface Via {
  transport?: Transport;
  transportWhy?: string;
}

export type Inspection =
  | ({ target: NodeTarget; ok: true; model: NodeModel; hostKey: string } & Via)
  | ({ target: NodeTarget; ok: false; error: NodeError } & Via);

export interface InspectOptions extends SessionOptions {
  concurrency: number;
  gather?: (target: NodeTarget) => GatherOptions;
  onStart?: (node: string) => void;
  onDone?: (inspection: Inspection) => void;
}

function asNodeError(node: string, e: unknown): NodeError {
  if (e instanceof NodeError) return e;
  return new NodeError(node, `${node}: ${(e as Error).message ?? String(e)}`, 'unreachable');
}

/** Connects to every node (bounded concurrency), gathers its facts in one command, closes. */
export const inspectNodes = (targets: readonly NodeTarget[], opts: InspectOptions): Promise<Inspection[]> =>
  inspectNodesKeeping(targets, opts, (i) => i);

/**
 * The same, keeping of each node only what `keep` returns: it runs as the node finishes, so a
 * node's gathered facts can be dropped then and memory stays flat in the number of nodes.
 */
export async function inspectNodesKeeping<T>(
  targets: readonly NodeTarget[],
  opts: InspectOptions,
  keep: (inspection: Inspection) => T,
): Promise<T[]> {
  // A large run collects between its phases; apply's checks of a node or two need none.
  const large = targets.length >= NODES_PER_COLLECTION;
  if (large) collectNow(); // what reading the inventory left
  const finished = collectingEvery();
  const kept = await mapLimit([...targets], opts.concurrency, async (target) => {
    opts.onStart?.(target.name);
    let inspection: Inspection;
    try {
      inspection = await withSession(target, opts, async (session) => {
        const facts = await gatherFacts(session, opts.gather?.(target));
        const given = {
          ...(target.layout ? { layout: target.layout } : {}),
          ...(target.role ? { role: target.role } : {}),
        };
        return {
          target,
          ok: true as const,
          model: nodeModel(facts, given),
          hostKey: session.hostKeyFingerprint,
        };
      });
    } catch (e) {
      inspection = { target, ok: false, error: asNodeError(target.name, e) };
    }
    // Decided (once) before connecting; a node whose choice itself failed has none.
    const choice = await chooseTransport(target, opts).catch(() => undefined);
    if (choice) inspection = { ...inspection, transport: choice.transport, transportWhy: choice.why };
    opts.onDone?.(inspection);
    const mine = keep(inspection);
    finished();
    return mine;
  });
  if (large) collectNow(); // what the last nodes' reads left, before the fleet step and the outputs
  return kept;
}
