import { posix } from 'node:path';
import { kubeletView } from './kubelet.js';
import { splitSystemctlCat } from './systemd.js';
import type { NodeFacts } from './types.js';

/** A file a plan writes, as far as the node's facts are concerned. */
export interface FileWrite {
  path: string;
  action: 'create' | 'modify';
  after: { sha256: string; content: string };
}

/**
 * The node as the kubelet would find it after the restart: the planned files written, the unit's
 * files and drop-ins as systemd would load them after a daemon-reload, and the kubelet started with
 * the command line the unit then gives.
 */
export function factsWithChanges(facts: NodeFacts, changes: readonly FileWrite[]): NodeFacts {
  const files = new Map(facts.files);
  const dirs = new Map(facts.dirs);
  for (const c of changes) {
    const prev = files.get(c.path);
    files.set(c.path, {
      ...(prev ?? { mode: '644', uid: 0, gid: 0 }),
      path: c.path,
      status: 'ok',
      content: c.after.content,
      size: Buffer.byteLength(c.after.content),
      sha256: c.after.sha256,
      truncated: false,
    });
    const dir = posix.dirname(c.path);
    const listing = dirs.get(dir) ?? [];
    if (!listing.includes(posix.basename(c.path))) dirs.set(dir, [...listing, posix.basename(c.path)]);
  }
  const units = new Map(facts.units);
  const unit = facts.units.get('kubelet');
  if (unit) {
    const unitFiles = splitSystemctlCat(unit.cat).map((f) => ({
      path: f.path,
      text: files.get(f.path)?.content ?? f.text,
    }));
    // A drop-in created once, as the last change to it leaves it (edits to one file chain).
    for (const c of changes)
      if (
        c.action === 'create' &&
        /\/kubelet\.service\.d\/[^/]+\.conf$/.test(c.path) &&
        !unitFiles.some((f) => f.path === c.path)
      )
        unitFiles.push({ path: c.path, text: files.get(c.path)?.content ?? c.after.content });
    const [main, ...dropIns] = unitFiles;
    dropIns.sort((a, b) => (posix.basename(a.path) < posix.basename(b.path) ? -1 : 1));
    const cat = [main, ...dropIns]
      .filter((f) => f !== undefined)
      .map((f) => `# ${f.path}\n${f.text.replace(/\n?$/, '\n')}`)
      .join('\n');
    units.set('kubelet', { ...unit, cat });
  }
  const next: NodeFacts = { ...facts, files, dirs, units };
  // Restarted, the kubelet runs what its unit gives now (when it has one).
  const argv = kubeletView(next).unitArgv.map((w) => w.text);
  const running = kubeletView(facts).process;
  // (a new object: views are worked out once per facts object)
  return running && argv.length > 0
    ? { ...next, processes: facts.processes.map((p) => (p === running ? { ...p, argv } : p)) }
    : next;
}
