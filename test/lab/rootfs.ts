import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './exec.js';
import { removeTree, usedAsLowerDir } from './mounts.js';
import { CACHE_DIR } from './paths.js';

/**
 * Everything that decides the content of the shared node rootfs. Its hash names the cache
 * directory, so editing anything here (a package, a file, a masked unit) rebuilds the rootfs.
 * The mirror is deliberately not part of it: any Debian mirror serves the same packages.
 */
export const ROOTFS_RECIPE = {
  suite: 'bookworm',
  variant: 'minbase',
  // lab-notes.md recipe + nodejs, which runs the kubelet/apiserver simulators, + python3, which
  // real nodes have and Ansible's modules need (npm run bench runs Ansible's shell module).
  include: [
    'systemd',
    'systemd-sysv',
    'dbus',
    'openssh-server',
    'openssl',
    'curl',
    'iproute2',
    'sudo',
    'procps',
    'nodejs',
    'python3',
  ],
  files: [
    {
      // A drop-in wins over sshd_config (first value wins and the Include comes first). Only the
      // ed25519 key is generated per node, so name it and sshd does not complain about the others.
      path: '/etc/ssh/sshd_config.d/10-kubemend-lab.conf',
      mode: 0o644,
      content: [
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UseDNS no',
        'HostKey /etc/ssh/ssh_host_ed25519_key',
        '',
      ].join('\n'),
    },
    { path: '/etc/sudoers.d/admin', mode: 0o440, content: 'admin ALL=(ALL:ALL) NOPASSWD: ALL\n' },
    // Nodes have no route out and no DNS; an empty resolv.conf makes lookups fail fast on loopback
    // instead of naming the build host's resolver.
    { path: '/etc/resolv.conf', mode: 0o644, content: '# kubemend lab: nodes have no DNS\n' },
    // Empty = "uninitialised": each node gets its own machine-id in its upper layer.
    { path: '/etc/machine-id', mode: 0o444, content: '' },
  ],
  users: [
    // admin: passwordless sudo through /etc/sudoers.d/admin (the usual automation account).
    { name: 'admin', groups: [] as string[], password: null as string | null },
    // nopw: sudo only with a password (Debian's %sudo rule), for "sudo needs a password" tests.
    { name: 'nopw', groups: ['sudo'], password: 'kubemend-lab' },
  ],
  // Units that fail, prompt or only burn CPU inside a short-lived container.
  mask: [
    'systemd-firstboot.service', // would prompt on the console of a "first boot"
    'console-getty.service',
    'getty@tty1.service',
    'apt-daily.timer',
    'apt-daily-upgrade.timer',
    'dpkg-db-backup.timer',
    'e2scrub_all.timer',
    'e2scrub_reap.service',
    'fstrim.timer',
    'systemd-pstore.service',
  ],
  remove: ['/var/lib/dbus/machine-id'], // would pin one D-Bus machine id on every node
  removeGlobs: [
    { dir: '/etc/ssh', prefix: 'ssh_host_' }, // host keys are generated per node on the host
    { dir: '/var/cache/apt/archives', prefix: '' },
    { dir: '/var/lib/apt/lists', prefix: '' },
  ],
} as const;

export const recipeHash = (): string =>
  createHash('sha256').update(JSON.stringify(ROOTFS_RECIPE)).digest('hex').slice(0, 16);

export const rootfsPath = (): string => join(CACHE_DIR, `rootfs-${recipeHash()}`);

/** First `URIs:` of deb822 sources, else the first `deb` line of sources.list, else deb.debian.org. */
export function debianMirror(): string {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(deb822)) {
    const uri = /^URIs:\s*(\S+)/m.exec(readFileSync(deb822, 'utf8'))?.[1];
    if (uri) return uri;
  }
  const legacy = '/etc/apt/sources.list';
  if (existsSync(legacy)) {
    const uri = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m.exec(readFileSync(legacy, 'utf8'))?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

const pidAlive = (pid: number): boolean => existsSync(`/proc/${pid}`);

/** Removes other recipes' rootfs (unless a running lab still uses one) and dead builds. */
async function pruneCache(keep: string, log: (line: string) => void): Promise<void> {
  for (const entry of await readdir(CACHE_DIR)) {
    const path = join(CACHE_DIR, entry);
    const build = /^\.build-[0-9a-f]+-(\d+)$/.exec(entry);
    if (build) {
      if (!pidAlive(Number(build[1]))) await removeTree(path, { unmountInside: true });
    } else if (entry.startsWith('rootfs-') && path !== keep) {
      if (usedAsLowerDir(path)) log(`keeping old ${path}: a running lab uses it`);
      else {
        log(`removing old ${path}`);
        await removeTree(path, { unmountInside: true });
      }
    }
  }
}

async function prepare(root: string): Promise<void> {
  const r = ROOTFS_RECIPE;
  for (const f of r.files) {
    await writeFile(join(root, f.path), f.content);
    await chmod(join(root, f.path), f.mode);
  }
  for (const u of r.users) {
    const groups = u.groups.length > 0 ? ['-G', u.groups.join(',')] : [];
    await runOk('chroot', [root, 'useradd', '--create-home', '--shell', '/bin/bash', ...groups, u.name]);
    if (u.password) await runOk('chroot', [root, 'chpasswd'], { input: `${u.name}:${u.password}\n` });
  }
  // systemctl works offline in a chroot for mask/enable (it only writes symlinks).
  await runOk('chroot', [root, 'systemctl', 'mask', ...r.mask]);
  for (const p of r.remove) await rm(join(root, p), { force: true });
  for (const g of r.removeGlobs) {
    const dir = join(root, g.dir);
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isFile() && e.name.startsWith(g.prefix)) await rm(join(dir, e.name));
    }
  }
}

/**
 * Returns the cached rootfs for the current recipe, building it first if needed. The build goes
 * to a PID-named temp dir that is renamed into place only when complete, so a crash never leaves
 * a half rootfs under the final name (the next run deletes the dead temp dir).
 */
export async function ensureRootfs(log: (line: string) => void = () => {}): Promise<string> {
  const target = rootfsPath();
  await mkdir(CACHE_DIR, { recursive: true });
  await pruneCache(target, log);
  if (existsSync(target)) return target;

  const tmp = join(CACHE_DIR, `.build-${recipeHash()}-${process.pid}`);
  const mirror = debianMirror();
  log(`building rootfs ${target} from ${mirror} (about a minute)`);
  const started = Date.now();
  try {
    const r = ROOTFS_RECIPE;
    await runOk('debootstrap', [
      `--variant=${r.variant}`,
      `--include=${r.include.join(',')}`,
      r.suite,
      tmp,
      mirror,
    ]);
    await prepare(tmp);
    await rename(tmp, target).catch(async (err: NodeJS.ErrnoException) => {
      // Another `up` finished the same recipe first: use theirs.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      await removeTree(tmp, { unmountInside: true });
    });
  } catch (err) {
    await removeTree(tmp, { unmountInside: true }).catch(() => {});
    throw err;
  }
  log(`rootfs built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return target;
}
