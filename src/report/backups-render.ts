import { visible, visibleDeep } from './visible.js';

/** One backup as `kubemend backups` lists it: the node's metadata.json, so the node's text. */
export interface BackupView {
  id: string;
  createdAt: string;
  tool?: string;
  files: readonly { path: string; action: string; sha256: string }[];
}

/**
 * The human list of a node's backups, oldest first, and the undo command. Everything from
 * metadata.json (paths, the tool name, the time) is shown escaped: the file is on the node.
 */
export function renderBackups(node: string, given: readonly BackupView[], undo: string): string {
  const name = visible(node);
  if (given.length === 0) return `${name}: no kubemend backups in /var/lib/kubemend/backups\n`;
  const lines: string[] = [];
  for (const b of visibleDeep(given)) {
    lines.push(`${b.id}  ${b.createdAt}  ${b.tool ?? ''}`);
    for (const f of b.files)
      lines.push(`    ${f.action.padEnd(8)}  ${f.path}  sha256 ${f.sha256.slice(0, 12)}…`);
  }
  lines.push(
    '',
    `The backups are on ${name}, under /var/lib/kubemend/backups/ID. Undo a run with:`,
    `  ${visible(undo)}`,
  );
  return lines.join('\n') + '\n';
}
