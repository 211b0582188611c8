import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run, sleep } from './exec.js';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  superOptions: string;
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function listMounts(): MountEntry[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left = '', right = ''] = line.split(' - ');
      const fields = left.split(' ');
      const [fsType = '', , superOptions = ''] = right.split(' ');
      return { mountPoint: unescape(fields[4] ?? ''), fsType, superOptions };
    });
}

export const isMounted = (dir: string): boolean => listMounts().some((m) => m.mountPoint === resolve(dir));

const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/** True when some overlay mount uses `dir` as (one of) its lower layers. */
export function usedAsLowerDir(dir: string): boolean {
  const abs = resolve(dir);
  return listMounts().some(
    (m) =>
      m.fsType === 'overlay' &&
      /(?:^|,)lowerdir=([^,]*)/
        .exec(m.superOptions)?.[1]
        ?.split(':')
        .some((layer) => isUnder(unescape(layer), abs)),
  );
}

/** Unmounts `dir`; retries while busy, then detaches lazily so teardown always finishes. */
export async function unmount(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 10 && isMounted(dir); attempt++) {
    const { code } = await run('umount', [dir]);
    if (code === 0) continue;
    await sleep(300);
  }
  if (isMounted(dir)) await run('umount', ['-l', dir]);
}

/**
 * rm -rf that never crosses a mount point: recursing into a live overlay (or into /proc) must never
 * happen. With `unmountInside`, mounts below `dir` are unmounted first: a debootstrap that crashed
 * leaves /proc and /sys mounted inside its target. Otherwise any mount below `dir` is an error.
 */
export async function removeTree(dir: string, opts: { unmountInside?: boolean } = {}): Promise<void> {
  const abs = resolve(dir);
  const inside = () =>
    listMounts()
      .map((m) => m.mountPoint)
      .filter((p) => isUnder(p, abs))
      .sort((a, b) => b.length - a.length);
  if (opts.unmountInside) for (const mountPoint of inside()) await unmount(mountPoint);
  const left = inside();
  if (left.length > 0) throw new Error(`refusing to delete ${abs}: still mounted: ${left.join(', ')}`);
  await rm(abs, { recursive: true, force: true });
}
