/**
 * The kubelet's effective configuration from its --config file and --config-dir drop-ins, as
 * cmd/kubelet/app/server.go builds it (node-facts §1.3):
 * - the --config file is decoded into the typed struct first: its field names match
 *   case-sensitively, so `clientCaFile` there is dropped (and paths in it were resolved against its
 *   directory by the caller);
 * - each drop-in is a JSON merge patch (maps merge, anything else replaces, null deletes) applied in
 *   walk order onto that, with keys kept as written;
 * - the merged JSON is then unmarshalled by encoding/json, which matches keys case-insensitively
 *   and reads them in byte order (the merge library writes map keys sorted), so of two spellings
 *   the one sorting later wins, and two spellings of an object merge (later fields win).
 * Only the fields kubemend reads are followed; every value keeps the file and spelling it came from.
 */

export interface MergeLayer {
  path: string;
  kind: 'config' | 'drop-in';
  data: Record<string, unknown>;
}

/** An effective value, the file that set it, and the key as spelled there (dotted). */
export interface MergedValue {
  value: unknown;
  source: string;
  kind: 'config' | 'drop-in';
  key: string;
}

/** The fields kubemend reads, with their canonical spelling (the struct's JSON names). */
const FIELDS: Record<string, unknown> = {
  authentication: { x509: { clientCAFile: 1 }, anonymous: { enabled: 1 }, webhook: { enabled: 1 } },
  authorization: { mode: 1 },
  staticPodPath: 1,
  healthzPort: 1,
  healthzBindAddress: 1,
  address: 1,
  port: 1,
  readOnlyPort: 1,
};

type Node = { map: Map<string, Node> } | { leaf: MergedValue };

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const canon = (level: unknown, key: string): string | undefined =>
  isMap(level) ? Object.keys(level).find((k) => k.toLowerCase() === key.toLowerCase()) : undefined;

/** The --config file as the typed decode leaves it: wrong-case spellings and nulls of followed fields gone. */
function typedBase(layer: MergeLayer): Node {
  const walk = (value: unknown, fields: unknown, trail: string[]): Node => {
    if (!isMap(value)) return { leaf: { value, source: layer.path, kind: 'config', key: trail.join('.') } };
    const map = new Map<string, Node>();
    for (const [k, v] of Object.entries(value)) {
      const known = canon(fields, k);
      if ((known !== undefined && known !== k) || v === null) continue;
      map.set(k, walk(v, known !== undefined && isMap(fields) ? fields[known] : undefined, [...trail, k]));
    }
    return { map };
  };
  return walk(layer.data, FIELDS, []);
}

/** RFC 7386 merge patch with provenance. */
function patch(target: Node | undefined, value: unknown, layer: MergeLayer, trail: string[]): Node {
  if (!isMap(value)) return { leaf: { value, source: layer.path, kind: layer.kind, key: trail.join('.') } };
  const map = new Map(target && 'map' in target ? target.map : []);
  for (const [k, v] of Object.entries(value)) {
    if (v === null) map.delete(k);
    else map.set(k, patch(map.get(k), v, layer, [...trail, k]));
  }
  return { map };
}

/** Two spellings of one field, the later in byte order applied over the earlier (encoding/json). */
function overlay(a: Node, b: Node): Node {
  if (!('map' in a) || !('map' in b)) return b;
  const map = new Map(a.map);
  for (const [k, v] of b.map) {
    const same = [...map.keys()].find((x) => x.toLowerCase() === k.toLowerCase());
    const prev = same === undefined ? undefined : map.get(same);
    if (same !== undefined) map.delete(same);
    map.set(k, prev ? overlay(prev, v) : v);
  }
  return { map };
}

function lookup(node: Node | undefined, path: readonly string[]): MergedValue | undefined {
  if (!node) return undefined;
  if (path.length === 0) return 'leaf' in node ? node.leaf : undefined;
  if (!('map' in node)) return undefined;
  const [head, ...rest] = path as [string, ...string[]];
  const spellings = [...node.map.keys()].filter((k) => k.toLowerCase() === head.toLowerCase()).sort();
  const folded = spellings
    .map((k) => node.map.get(k) as Node)
    .reduce<Node | undefined>((acc, n) => (acc ? overlay(acc, n) : n), undefined);
  return lookup(folded, rest);
}

function merged(layers: readonly MergeLayer[]): Node | undefined {
  let node: Node | undefined;
  for (const layer of layers)
    node = layer.kind === 'config' ? typedBase(layer) : patch(node, layer.data, layer, []);
  return node;
}

/** The effective value of a followed field (canonical path), or undefined when no layer sets it. */
export function effectiveField(
  layers: readonly MergeLayer[],
  path: readonly string[],
): MergedValue | undefined {
  return lookup(merged(layers), path);
}

/**
 * The last drop-in whose merge-patch null removes `path` or a map holding it (any spelling), when
 * the merged result leaves it unset: a value written in a layer below it would be deleted too.
 */
export function deletedBy(layers: readonly MergeLayer[], path: readonly string[]): string | undefined {
  if (effectiveField(layers, path)) return undefined;
  const hasNull = (obj: unknown, i: number): boolean =>
    isMap(obj) &&
    Object.entries(obj).some(
      ([k, v]) => k.toLowerCase() === (path[i] ?? '').toLowerCase() && (v === null || hasNull(v, i + 1)),
    );
  return layers.findLast((l) => l.kind === 'drop-in' && hasNull(l.data, 0))?.path;
}

/**
 * Spellings in drop-ins that differ from the canonical one along `path` and take effect (the
 * kubelet folds case in drop-ins): e.g. `authentication.x509.clientCaFile`, which beats a
 * `clientCAFile` from any other drop-in because it sorts later.
 */
export function dropInSpellings(
  layers: readonly MergeLayer[],
  path: readonly string[],
): { path: string; key: string }[] {
  const found: { path: string; key: string }[] = [];
  for (const layer of layers) {
    if (layer.kind !== 'drop-in') continue;
    const walk = (obj: unknown, i: number, trail: string[]) => {
      if (!isMap(obj) || i >= path.length) return;
      for (const [k, v] of Object.entries(obj)) {
        if (k.toLowerCase() !== (path[i] ?? '').toLowerCase()) continue;
        const spelled = [...trail, k];
        if (i === path.length - 1) {
          if (spelled.join('.') !== path.join('.')) found.push({ path: layer.path, key: spelled.join('.') });
        } else walk(v, i + 1, spelled);
      }
    };
    walk(layer.data, 0, []);
  }
  return found;
}
