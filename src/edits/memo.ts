/**
 * An edit worked out once per distinct (text, parameters) in a run: a fleet's nodes mostly hold
 * the same kubelet config and manifests, and plan makes the same change to each (issue 23). Edits
 * are pure; an EditError is replayed as it was thrown, anything else is not kept. The edit runs on
 * a copy of the text, so that nothing kept holds a slice of a node's gathered output. Bounded.
 */
import { EditError, type EditResult } from './result.js';

const MAX_ENTRIES = 128;
const MAX_TEXT = 32 * 1024;

type Outcome = { ok: EditResult } | { error: EditError };

export function memoEdit<P extends unknown[]>(
  edit: (text: string, ...params: P) => EditResult,
): (text: string, ...params: P) => EditResult {
  const known = new Map<string, Outcome>();
  return (text, ...params) => {
    if (text.length > MAX_TEXT) return edit(text, ...params);
    const key = JSON.stringify([text, ...params]);
    let outcome = known.get(key);
    if (!outcome) {
      const own = Buffer.from(text, 'utf8').toString('utf8');
      try {
        outcome = { ok: edit(own, ...params) };
      } catch (e) {
        if (!(e instanceof EditError)) throw e;
        outcome = { error: e };
      }
      if (known.size >= MAX_ENTRIES) known.clear();
      known.set(key, outcome);
    }
    if ('error' in outcome) throw outcome.error;
    // A fresh object each time: callers may add to it.
    return { ...outcome.ok };
  };
}
