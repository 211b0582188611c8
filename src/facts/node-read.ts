/**
 * One node as it was read (node/inspect.ts `Inspection` has this shape): what the pure layers that
 * judge a node (report/audit-build.ts, plan/build.ts) take, so they import nothing of node/.
 */
import type { NodeError } from '../errors.js';
import type { NodeTarget } from '../inventory/types.js';
import type { NodeModel } from './model.js';

export type NodeRead = { target: NodeTarget; transport?: 'builtin' | 'openssh' } & (
  { ok: true; model: NodeModel; hostKey: string } | { ok: false; error: NodeError }
);

/**
 * A copy of what a node's result keeps, made of JSON values only: text cut out of the node's
 * gathered output (evidence, values) is a slice that keeps the whole output alive in V8; the copy
 * holds its own strings. The result documents are JSON, so nothing they show changes.
 */
export const jsonCopy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
