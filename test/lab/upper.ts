import { lstatSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes into a node's overlay upper layer *before* it is mounted. A directory created in the
 * upper layer replaces the lower one's owner and mode in the merged view, so every missing
 * parent is created with the rootfs' own owner/mode (a 0755 /root would change the node).
 */
export class UpperWriter {
  constructor(
    private readonly lower: string,
    private readonly upper: string,
  ) {}

  async mkdirp(path: string, mode = 0o755, uid = 0, gid = 0): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = `/${parts.slice(0, i).join('/')}`;
      const target = join(this.upper, rel);
      if (await exists(target)) continue;
      const inLower = lstatOrUndefined(join(this.lower, rel));
      if (inLower?.isSymbolicLink()) {
        // e.g. /lib -> usr/lib on bookworm: a real directory here would shadow the link.
        throw new Error(`${rel} is a symlink in the rootfs; write under its target instead`);
      }
      await mkdir(target);
      const last = i === parts.length;
      await chmod(target, inLower ? inLower.mode & 0o7777 : last ? mode : 0o755);
      await chown(target, inLower?.uid ?? (last ? uid : 0), inLower?.gid ?? (last ? gid : 0));
    }
  }

  async write(path: string, content: string, mode = 0o644, uid = 0, gid = 0): Promise<void> {
    await this.mkdirp(dirname(path));
    const target = join(this.upper, path);
    await writeFile(target, content);
    await chmod(target, mode);
    await chown(target, uid, gid);
  }

  async symlink(path: string, linkTarget: string): Promise<void> {
    await this.mkdirp(dirname(path));
    const target = join(this.upper, path);
    await rm(target, { force: true });
    await symlink(linkTarget, target);
  }
}

const exists = (p: string): Promise<boolean> =>
  lstat(p).then(
    () => true,
    () => false,
  );

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}
