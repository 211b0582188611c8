// `npm run demo`: boots a small lab, runs audit → plan → apply --yes → audit with the built CLI,
// showing each step's output as a user sees it, then tears the lab down.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downLab, upLab } from './lab.js';
import { labProblems } from './preflight.js';
import { rootfsPath } from './rootfs.js';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const NODES = ['kubeadm-cp-bad', 'eks-al2023-dropin-bad', 'flags-bad'];
const LAB = 'demo';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function kubemend(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`\n${bold(`$ kubemend ${args.join(' ')}`)}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.on('error', reject);
    child.on('close', (code) => {
      process.stdout.write(`${bold(`(exit ${code ?? 'signal'})`)}\n`);
      resolve(code ?? 1);
    });
  });
}

async function main(): Promise<number> {
  const problems = labProblems('up');
  if (problems.length > 0) {
    console.error(
      `The demo boots a lab of real nodes and cannot run here:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'kubemend-demo-'));
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
  });
  try {
    // Said before anything happens: what the demo changes on this host, and why the first run is slow.
    console.log(
      [
        bold(`Booting a lab: ${NODES.join(', ')} (systemd-nspawn nodes with real systemd and OpenSSH)`),
        existsSync(rootfsPath())
          ? '  The nodes start from the Debian root filesystem built on an earlier run.'
          : `  First run: it builds a Debian root filesystem with debootstrap in ${rootfsPath()}, which takes about two minutes; later runs reuse it.`,
        '  On this host it raises fs.inotify.max_user_instances to 8192 and fs.inotify.max_user_watches to 524288 where they are lower',
        '  (until the next reboot), and adds a private bridge and network namespaces, which it removes at the end.',
      ].join('\n'),
    );
    const lab = await upLab({ name: LAB, nodes: NODES, replace: true, log: (l) => console.log(`  ${l}`) });
    // A fresh HOME: the demo uses the lab's own key and known_hosts, nothing of yours.
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(work, 'home') };
    const i = ['-i', lab.inventoryPath];
    const plan = join(work, 'change.plan.json');
    const steps: string[][] = [
      ['audit', ...i],
      ['plan', ...i, '--out', plan, '--diff', join(work, 'change.patch')],
      ['apply', ...i, '--plan', plan, '--yes'],
      ['audit', ...i],
    ];
    for (const step of steps) {
      if (interrupted) break;
      await kubemend(step, env);
    }
    return interrupted ? 130 : 0;
  } finally {
    console.log(bold('\nTearing the lab down'));
    await downLab(LAB, { log: (l) => console.log(`  ${l}`) });
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
