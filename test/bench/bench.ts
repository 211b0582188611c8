// `npm run bench`: kubemend audit against the OpenSSH floor and Ansible ad-hoc, same nodes, same
// remote command, same run. Prints wall time and peak memory and writes BENCHMARKS.md.
// A benchmark, not a test: nothing here asserts a time.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatherScript } from '../../src/node/gather-script.js';
import { downLab, upLab } from '../lab/lab.js';
import { nodeNames } from '../lab/layouts.js';
import { labProblems } from '../lab/preflight.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist/bin.js');
const NODES = Number(process.env['KUBEMEND_BENCH_NODES'] ?? 24);
const RUNS = Number(process.env['KUBEMEND_BENCH_RUNS'] ?? 3);
const LAB = 'bench';

interface Sample {
  wallMs: number;
  peakRssKiB: number;
  code: number | null;
  stdout: string;
}

/** RSS of a process and all its descendants, from /proc (KiB). */
function treeRss(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(fields[1]));
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      rss.set(Number(d), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  for (const [pid, kib] of rss) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += kib;
        break;
      }
    }
  }
  return total;
}

function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    const timer = setInterval(() => {
      if (child.pid) peak = Math.max(peak, treeRss(child.pid));
    }, 25);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ wallMs: performance.now() - started, peakRssKiB: peak, code, stdout });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function ensureAnsible(): string {
  if (spawnSync('sh', ['-c', 'command -v ansible']).status === 0) return 'ansible';
  console.log('[bench] installing the Debian package ansible-core (once)');
  const r = spawnSync(
    'sh',
    [
      '-c',
      'apt-get install -y -q --no-install-recommends ansible-core || (apt-get update -q && apt-get install -y -q --no-install-recommends ansible-core)',
    ],
    {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    },
  );
  if (r.status !== 0) throw new Error('could not install ansible-core');
  return 'ansible';
}

async function main(): Promise<number> {
  const problems = labProblems('up');
  if (problems.length > 0) {
    console.error(`the benchmark needs the lab:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 2;
  }
  ensureAnsible();
  const work = mkdtempSync(join(tmpdir(), 'kubemend-bench-'));
  try {
    const lab = await upLab({
      name: LAB,
      nodes: nodeNames(NODES),
      replace: true,
      log: (l) => console.log(`[lab] ${l}`),
    });
    const hosts = lab.nodes.map((n) => n.host);
    // Exactly the command kubemend sends for an audit (src/node/gather.ts).
    const command = `sh -c '${gatherScript().replaceAll("'", `'\\''`)}'`;
    writeFileSync(join(work, 'command'), command);
    const sshOpts = [
      '-i',
      lab.keyPath,
      '-o',
      `UserKnownHostsFile=${lab.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
    ];
    writeFileSync(join(work, 'hosts'), hosts.join('\n') + '\n');
    writeFileSync(
      join(work, 'one.sh'),
      `exec ssh ${sshOpts.join(' ')} root@"$1" "$(cat ${join(work, 'command')})"\n`,
    );
    writeFileSync(join(work, 'inventory.ini'), `[lab]\n${hosts.join('\n')}\n`);
    const home = join(work, 'home');

    const tools: { name: string; run: () => Promise<Sample>; ok: (s: Sample) => boolean }[] = [
      {
        name: 'kubemend audit',
        run: () =>
          measure(
            process.execPath,
            [BIN, 'audit', '-i', lab.inventoryPath, '-o', 'json', '--concurrency', String(NODES)],
            {
              PATH: process.env['PATH'],
              HOME: home,
            },
          ),
        ok: (s) => (JSON.parse(s.stdout) as { errors: unknown[] }).errors.length === 0,
      },
      {
        name: `OpenSSH floor (xargs -P ${NODES} ssh)`,
        run: () =>
          measure('sh', ['-c', `xargs -P ${NODES} -n 1 sh ${join(work, 'one.sh')} < ${join(work, 'hosts')}`]),
        ok: (s) => s.stdout.split('KM1 DONE').length - 1 === NODES,
      },
      {
        name: `Ansible ad-hoc (raw, forks ${NODES})`,
        run: () =>
          measure(
            'ansible',
            [
              'all',
              '-i',
              join(work, 'inventory.ini'),
              '-u',
              'root',
              '--private-key',
              lab.keyPath,
              '-f',
              String(NODES),
              '-m',
              'raw',
              '-a',
              command,
            ],
            {
              ...process.env,
              HOME: home,
              ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes -o ControlMaster=no`,
              ANSIBLE_STDOUT_CALLBACK: 'minimal',
              ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
            },
          ),
        ok: (s) => s.stdout.split('KM1 DONE').length - 1 === NODES,
      },
    ];

    const results: { name: string; wallMs: number; peakMiB: number; runs: number[] }[] = [];
    for (const tool of tools) {
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) {
        const s = await tool.run();
        if (!tool.ok(s)) throw new Error(`${tool.name} did not gather every node (exit ${s.code})`);
        samples.push(s);
        console.log(
          `[bench] ${tool.name}: run ${i + 1}: ${(s.wallMs / 1000).toFixed(2)} s, ${(s.peakRssKiB / 1024).toFixed(0)} MiB`,
        );
      }
      results.push({
        name: tool.name,
        wallMs: median(samples.map((s) => s.wallMs)),
        peakMiB: median(samples.map((s) => s.peakRssKiB)) / 1024,
        runs: samples.map((s) => s.wallMs),
      });
    }
    const [km, floor, ansible] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
    const table = [
      `| tool | wall time (median of ${RUNS}) | peak memory (RSS of the process tree) | runs |`,
      '|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${(r.wallMs / 1000).toFixed(2)} s | ${r.peakMiB.toFixed(0)} MiB | ${r.runs.map((x) => (x / 1000).toFixed(2)).join(', ')} s |`,
      ),
    ].join('\n');
    const ratios = `kubemend / OpenSSH floor: ${(km.wallMs / floor.wallMs).toFixed(2)}× (target ≤ 1.5×); Ansible / kubemend: ${(ansible.wallMs / km.wallMs).toFixed(1)}× (target ≥ 5×)`;
    console.log(`\n${table}\n\n${ratios}`);
    writeFileSync(
      join(ROOT, 'BENCHMARKS.md'),
      `# Benchmarks

\`npm run bench\` (test/bench/bench.ts): ${NODES} lab nodes (systemd-nspawn, real OpenSSH, every
layout and copies), each tool running the same remote command (kubemend's read-only gather script)
on every node, ${RUNS} runs each, in one run of the script on ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. kubemend runs with
\`--concurrency ${NODES}\`; the floor is \`xargs -P ${NODES}\` over \`ssh\`; Ansible is \`ansible all -m raw -f ${NODES}\`
(the nodes have no Python, and \`raw\` is Ansible's fastest path). Peak memory is the largest sum of RSS
over the tool's whole process tree, sampled every 25 ms.

${table}

${ratios}

All three run the same remote command, so on this 2-core machine, where the ${NODES} nodes share the
host's CPU with the tools, the remote work sets a floor that no controller can go under: the targets
are read against it. kubemend stays at or under the OpenSSH floor (one in-process SSH connection per
node instead of an ssh process each); Ansible's controller overhead (a Python worker per fork) adds
its share on top of the same floor.
`,
    );
    return 0;
  } finally {
    await downLab(LAB, { log: (l) => console.log(`[lab] ${l}`) });
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
