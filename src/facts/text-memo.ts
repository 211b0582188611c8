/**
 * A pure reading of a node's file, worked out once per distinct (path, text) in a run: a fleet's
 * nodes mostly hold the same kubelet config and the same manifests, and parsing them was about a
 * fifth of an audit's CPU (issue 23). The result is frozen (shared by every node holding that
 * text: a reader that changed it would throw rather than change another node's facts) and is
 * computed from a copy of the text, so that neither key nor result keeps a slice of a node's
 * gathered output (and with it that whole output) alive. Bounded: past the bound it starts again,
 * and large texts are not kept.
 */
const MAX_ENTRIES = 128;
const MAX_TEXT = 32 * 1024;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function memoByText<T>(read: (path: string, text: string) => T): (path: string, text: string) => T {
  const known = new Map<string, T>();
  return (path, text) => {
    if (text.length > MAX_TEXT) return read(path, text);
    // The path's length first: no path and text can make the key of another pair.
    const key = `${path.length}:${path}\0${text}`;
    if (known.has(key)) return known.get(key) as T;
    const own = Buffer.from(key, 'utf8').toString('utf8');
    const value = deepFreeze(read(path, own.slice(key.length - text.length)));
    if (known.size >= MAX_ENTRIES) known.clear();
    known.set(own, value);
    return value;
  };
}
