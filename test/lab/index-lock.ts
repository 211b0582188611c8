import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bridgeName, linkExists, subnetInUse } from './network.js';
import { RUN_DIR } from './paths.js';

// One directory per lab index; mkdir is atomic, so two concurrent `up`s never pick the same subnet.
const INDEX_DIR = join(RUN_DIR, '.index');
const MAX_LABS = 64;

export async function reserveIndex(lab: string): Promise<number> {
  mkdirSync(INDEX_DIR, { recursive: true });
  for (let i = 0; i < MAX_LABS; i++) {
    // A bridge or route on that /24 that is not ours (or left from a lab whose state was lost).
    if ((await linkExists(bridgeName(i))) || (await subnetInUse(i))) continue;
    try {
      mkdirSync(join(INDEX_DIR, String(i)));
    } catch {
      continue;
    }
    writeFileSync(join(INDEX_DIR, String(i), 'lab'), lab);
    return i;
  }
  throw new Error(`no free lab subnet 10.213.0-${MAX_LABS - 1}.0/24 (too many labs up?)`);
}

/** Frees every index held by `lab` (idempotent). */
export function releaseIndexes(lab: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(INDEX_DIR);
  } catch {
    return;
  }
  for (const entry of entries) {
    let owner = '';
    try {
      owner = readFileSync(join(INDEX_DIR, entry, 'lab'), 'utf8');
    } catch {
      // reserved but never labelled (crash right after mkdir): it belongs to nobody now
    }
    if (owner === lab || owner === '') rmSync(join(INDEX_DIR, entry), { recursive: true, force: true });
  }
}
