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

/** Texts at least this long are kept once per run however many nodes hold them. */
const SHARED_MIN = 64;
/** At most this many characters of distinct texts remembered (then it starts again: only sharing is lost). */
const SHARED_MAX = 1024 * 1024;
const shared = new Map<string, string>();
let sharedSize = 0;

/**
 * jsonCopy for what is kept of a node until the end of a run: a long text that an earlier node's
 * copy holds too (a node pool's kubelet config, its planned content and diff, the same evidence)
 * is that one copy. A 5,000-node fleet is mostly node pools sharing one kubelet config.
 */
export const keptCopy = <T>(value: T): T =>
  JSON.parse(JSON.stringify(value), (_key, v: unknown) => {
    if (typeof v !== 'string' || v.length < SHARED_MIN) return v;
    const known = shared.get(v);
    if (known !== undefined) return known;
    if (v.length > SHARED_MAX / 8) return v;
    if (sharedSize + v.length > SHARED_MAX) {
      shared.clear();
      sharedSize = 0;
    }
    shared.set(v, v);
    sharedSize += v.length;
    return v;
  }) as T;

/**
 * The same for a kept value that also holds what JSON cannot carry (a parsed X509Certificate):
 * plain objects and arrays copied, each string made its own (a path read from a node's kubelet
 * config is a slice of that node's whole gathered output, about 10 KB kept per node otherwise),
 * anything else shared as it is (a certificate is native and holds no node text).
 */
export function ownCopy<T>(value: T): T {
  if (typeof value === 'string') return JSON.parse(JSON.stringify(value)) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => ownCopy(v)) as T;
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ownCopy(v)])) as T;
}
