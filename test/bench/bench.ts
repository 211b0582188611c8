// `npm run bench`: kubemend audit against the OpenSSH floor and Ansible ad-hoc, same nodes, same
// remote command, same run. Prints wall time and peak memory and writes BENCHMARKS.md.
// A benchmark, not a test: nothing here asserts a time.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gatherCommand } from '../../src/node/gather-script.js';
import { labCgroup, trackingHierarchies } from '../lab/cgroups.js';
import { downLab, openLab, upLab } from '../lab/lab.js';
import { ALL_NODES, nodeNames } from '../lab/layouts.js';
import { labProblems } from '../lab/preflight.js';
import { SCALE_RUN, withScaleRun } from './benchmarks-md.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist/bin.js');
const NODES = Number(process.env['KUBEMEND_BENCH_NODES'] ?? 24);
const RUNS = Number(process.env['KUBEMEND_BENCH_RUNS'] ?? 5);
// KUBEMEND_BENCH_LAB: another name lets two checkouts benchmark at once (each lab has its own bridge).
const LAB = process.env['KUBEMEND_BENCH_LAB'] || 'bench';

interface Sample {
  wallMs: number;
  /** CPU time of the tool's whole process tree (user + system), from the shell's `times`. */
  cpuMs: number;
  /** CPU time the lab's nodes used meanwhile (sshd, the remote command), from their cgroup. */
  nodeCpuMs?: number;
  peakRssKiB?: number;
  /** The most processes the tool's tree had at once (with sampleRss). */
  peakProcesses?: number;
  code: number | null;
  stdout: string;
}

/** RSS (KiB) and number of processes of a process and all its descendants, from /proc. */
function treeUsage(root: number): { rssKiB: number; processes: number } {
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
  let processes = 0;
  for (const [pid, kib] of rss) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += kib;
        processes++;
        break;
      }
    }
  }
  return { rssKiB: total, processes };
}

/** CPU time used so far by every process of the lab (cgroup2 cpu.stat), or undefined. */
function labCpuMs(): number | undefined {
  for (const h of trackingHierarchies()) {
    try {
      const stat = readFileSync(join(h, labCgroup(LAB), 'cpu.stat'), 'utf8');
      const usec = /^usage_usec (\d+)$/m.exec(stat)?.[1];
      if (usec) return Number(usec) / 1000;
    } catch {
      // not a cgroup2 hierarchy
    }
  }
  return undefined;
}

/**
 * Runs a tool once. Wall time and CPU come from runs that nothing else disturbs; with `sampleRss`
 * the process tree's memory is read from /proc every 25 ms, which costs CPU on this small machine,
 * so memory is measured in a run of its own.
 */
function measure(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  { sampleRss = false } = {},
): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const nodeCpuBefore = labCpuMs();
    const started = performance.now();
    // `times` prints the CPU used by the shell's children: the tool and everything it started.
    const child = spawn('sh', ['-c', '"$@"; s=$?; times >&2; exit $s', 'sh', cmd, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    let peakProcs = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = sampleRss
      ? setInterval(() => {
          if (!child.pid) return;
          const u = treeUsage(child.pid);
          peak = Math.max(peak, u.rssKiB);
          // The sh that runs the tool is not counted.
          peakProcs = Math.max(peakProcs, u.processes - 1);
        }, 25)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const nodeCpuAfter = labCpuMs();
      clearInterval(timer);
      // Last line of `times`: children's user and system time, e.g. "0m5.520s 0m1.880s".
      const last = stderr.trim().split('\n').at(-1) ?? '';
      const cpuMs = [...last.matchAll(/(\d+)m([\d.]+)s/g)]
        .slice(-2)
        .reduce((sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000, 0);
      resolve({
        wallMs,
        cpuMs,
        ...(nodeCpuBefore !== undefined && nodeCpuAfter !== undefined
          ? { nodeCpuMs: nodeCpuAfter - nodeCpuBefore }
          : {}),
        ...(sampleRss ? { peakRssKiB: peak, peakProcesses: peakProcs } : {}),
        code,
        stdout,
      });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The Debian package `ansible` (ansible-core and the community collections), as the issue names it. */
function ensureAnsible(): void {
  if (spawnSync('dpkg-query', ['-W', '-f=${Status}', 'ansible']).stdout?.toString().includes('ok installed'))
    return;
  console.log('[bench] installing the Debian package ansible (once)');
  const r = spawnSync(
    'sh',
    [
      '-c',
      'apt-get install -y -q --no-install-recommends ansible || (apt-get update -q && apt-get install -y -q --no-install-recommends ansible)',
    ],
    { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  if (r.status !== 0) throw new Error('could not install the Debian package ansible');
}

/** Ends the processes (ssh ControlPersist masters) whose command line names `marker`: ours. */
function endLeftovers(marker: string): void {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) process.kill(Number(d));
    } catch {
      // gone already
    }
  }
}

interface Tool {
  name: string;
  /** Runs the tool once; `run` numbers the runs so that each can start cold. */
  run: (run: number, opts: { sampleRss?: boolean }) => Promise<Sample>;
  ok: (s: Sample) => boolean;
}

interface Result {
  name: string;
  wallMs: number;
  cpuMs: number;
  nodeCpuMs?: number;
  peakMiB: number;
  runs: number[];
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<number> {
  const problems = labProblems('up');
  if (problems.length > 0) {
    console.error(`the benchmark needs the lab:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 2;
  }
  const { values } = parseArgs({ options: { scale: { type: 'string' } } });
  if (values.scale) return scale(values.scale);
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
    const command = gatherCommand();
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
    const known = `-o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes`;
    const ansible = (module: string, sshArgs: string, run: number, opts: { sampleRss?: boolean }) =>
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
          module,
          '-a',
          command,
        ],
        {
          ...process.env,
          HOME: home,
          ANSIBLE_SSH_ARGS: sshArgs,
          // A control directory per run: each run starts without connections, like an audit does.
          ANSIBLE_SSH_CONTROL_PATH_DIR: join(work, `cp-${module}-${run}`),
          ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
          ANSIBLE_STDOUT_CALLBACK: 'minimal',
          ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
        },
        opts,
      ).finally(() => endLeftovers(join(work, `cp-${module}-${run}`)));
    const gathered = (s: Sample) => s.stdout.split('KM1 DONE').length - 1 === NODES;

    const tools: Tool[] = [
      {
        name: 'kubemend audit',
        run: (_run, opts) =>
          measure(
            process.execPath,
            [BIN, 'audit', '-i', lab.inventoryPath, '-o', 'json', '--concurrency', String(NODES)],
            { PATH: process.env['PATH'], HOME: home },
            opts,
          ),
        ok: (s) => (JSON.parse(s.stdout) as { errors: unknown[] }).errors.length === 0,
      },
      {
        // The same audit over the system ssh: a ControlMaster per node, the gather as one mux session.
        name: 'kubemend audit --ssh openssh',
        run: (_run, opts) =>
          measure(
            process.execPath,
            [
              BIN,
              'audit',
              '-i',
              lab.inventoryPath,
              '-o',
              'json',
              '--concurrency',
              String(NODES),
              '--ssh',
              'openssh',
            ],
            { PATH: process.env['PATH'], HOME: home },
            opts,
          ),
        ok: (s) => (JSON.parse(s.stdout) as { errors: unknown[] }).errors.length === 0,
      },
      {
        name: `OpenSSH floor (xargs -P ${NODES} ssh)`,
        run: (_run, opts) =>
          measure(
            'sh',
            ['-c', `xargs -P ${NODES} -n 1 sh ${join(work, 'one.sh')} < ${join(work, 'hosts')}`],
            process.env,
            opts,
          ),
        ok: gathered,
      },
      {
        // How Ansible users run a command on every host: the shell module, with Ansible's own
        // default ssh settings (connection sharing with ControlPersist) and a Python on the node.
        name: `Ansible ad-hoc, shell module (forks ${NODES})`,
        run: (run, opts) =>
          ansible('shell', `-C -o ControlMaster=auto -o ControlPersist=60s ${known}`, run, opts),
        ok: gathered,
      },
      {
        // Ansible's fastest path: one ssh command per host, no Python, no file transfer.
        name: `Ansible ad-hoc, raw module (forks ${NODES})`,
        run: (run, opts) => ansible('raw', `-o ControlMaster=no ${known}`, run, opts),
        ok: gathered,
      },
    ];

    const results: Result[] = [];
    for (const tool of tools) {
      const samples: Sample[] = [];
      for (let i = 0; i <= RUNS; i++) {
        // Run 0 measures memory (sampling /proc costs CPU); runs 1…RUNS measure time undisturbed.
        const s = await tool.run(i, { sampleRss: i === 0 });
        if (!tool.ok(s)) throw new Error(`${tool.name} did not gather every node (exit ${s.code})`);
        samples.push(s);
        console.log(
          `[bench] ${tool.name}: ${i === 0 ? `memory run: ${((s.peakRssKiB ?? 0) / 1024).toFixed(0)} MiB` : `run ${i}: ${secs(s.wallMs)} wall, ${secs(s.cpuMs)} CPU, nodes ${s.nodeCpuMs === undefined ? '?' : secs(s.nodeCpuMs)} CPU`}`,
        );
      }
      const timed = samples.slice(1);
      const nodeCpu = timed.map((s) => s.nodeCpuMs).filter((x): x is number => x !== undefined);
      results.push({
        name: tool.name,
        wallMs: median(timed.map((s) => s.wallMs)),
        cpuMs: median(timed.map((s) => s.cpuMs)),
        ...(nodeCpu.length === timed.length ? { nodeCpuMs: median(nodeCpu) } : {}),
        peakMiB: (samples[0]?.peakRssKiB ?? 0) / 1024,
        runs: timed.map((s) => s.wallMs),
      });
    }
    const [km, kmOpenssh, floor, shell, raw] = results as [Result, Result, Result, Result, Result];
    const table = [
      `| tool | wall time (median of ${RUNS}) | CPU of the tool | CPU of the nodes | peak memory | runs |`,
      '|---|---|---|---|---|---|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${secs(r.wallMs)} | ${secs(r.cpuMs)} | ${r.nodeCpuMs === undefined ? '?' : secs(r.nodeCpuMs)} | ${r.peakMiB.toFixed(0)} MiB | ${r.runs.map((x) => (x / 1000).toFixed(2)).join(', ')} s |`,
      ),
    ].join('\n');
    const ratio = (a: Result, b: Result) => (a.wallMs / b.wallMs).toFixed(1);
    const ratios = [
      `- kubemend / OpenSSH floor: ${(km.wallMs / floor.wallMs).toFixed(2)}× (target ≤ 1.5×)`,
      `- kubemend --ssh openssh / OpenSSH floor: ${(kmOpenssh.wallMs / floor.wallMs).toFixed(2)}× (target ≤ 1.3×)`,
      `- Ansible (shell module) / kubemend: ${ratio(shell, km)}× (target ≥ 5×)`,
      `- Ansible (raw module) / kubemend: ${ratio(raw, km)}×`,
    ].join('\n');
    console.log(`\n${table}\n\n${ratios}`);
    const file = join(ROOT, 'BENCHMARKS.md');
    const before = readFileSync(file, 'utf8');
    // This run's part is the top, up to the first ## section (the Scale section is --scale's).
    const rest = before.search(/^## /m);
    writeFileSync(
      file,
      `# Benchmarks

\`npm run bench\` (test/bench/bench.ts): ${NODES} lab nodes (systemd-nspawn, real OpenSSH and
systemd, every layout and copies), each tool running the same remote command (kubemend's read-only
gather script) on every node, in one run of the script on ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} cores and ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared by the tools and all ${NODES} nodes.

- kubemend: \`kubemend audit -o json --concurrency ${NODES}\` (one in-process SSH connection per node),
  and the same with \`--ssh openssh\` (the system ssh: \`ssh -G\`, one ControlMaster and one mux
  client per node).
- OpenSSH floor: \`xargs -P ${NODES}\`, one \`ssh\` per node.
- Ansible (Debian package \`ansible\`), ad-hoc with \`-f ${NODES}\`: the \`shell\` module, which is how
  Ansible runs a command on hosts, with Ansible's default ssh settings (ControlPersist) and a fresh
  control directory per run; and the \`raw\` module, Ansible's fastest path (one ssh per host, no
  Python, no file transfer), which Ansible's documentation keeps for hosts without Python.

Wall time and CPU are medians of ${RUNS} runs that nothing else disturbs. "CPU of the tool" is the
user + system time of the tool's whole process tree (ssh clients included); "CPU of the nodes" is
what every node's processes (sshd, the remote command, Python for Ansible's modules) used meanwhile,
from the lab's cgroup. Peak memory is the largest sum of RSS over the tool's process tree, sampled
every 25 ms in one more run of its own (sampling costs CPU).

${table}

${ratios}

The ≥ 5× target is read against the shell module, the way Ansible gathers command output from
hosts; against raw, Ansible's best case, the ratio is the last line above. On this machine the
nodes' CPU is the machine's CPU: no run can take less than (CPU of the tool + CPU of the nodes) /
${cpus().length} cores, and the nodes' share is the same for every tool that runs the same command
over one SSH connection per node. On a real fleet each node's share runs on that node.
${rest >= 0 ? `\n${before.slice(rest)}` : ''}`,
    );
    return 0;
  } finally {
    await downLab(LAB, { log: (l) => console.log(`[lab] ${l}`) });
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `npm run bench -- --scale 1,10,50,250`: the lab's nodes (every layout) listed K times under new
 * names (inventory entries pointing at the same hosts, which known_hosts covers by address), then
 * per size: kubemend audit and plan (one run each, memory and processes sampled), and parallel
 * OpenSSH running the same gather on the same targets. Writes its table under SCALE_RUN in
 * BENCHMARKS.md's "## Scale" section (the hand-written tables and notes there are kept).
 */
async function scale(sizes: string): Promise<number> {
  const ks = sizes.split(',').map((k) => Number(k.trim()));
  if (ks.some((k) => !Number.isInteger(k) || k < 1)) {
    console.error('--scale takes copy counts: --scale 1,10,50,250');
    return 2;
  }
  const concurrency = Number(process.env['KUBEMEND_BENCH_CONCURRENCY'] ?? 20);
  const verbs = (process.env['KUBEMEND_BENCH_VERBS'] ?? 'audit,plan,audit --ssh builtin,openssh').split(',');
  const work = mkdtempSync(join(tmpdir(), 'kubemend-bench-'));
  const home = join(work, 'home');
  const rows: string[] = [];
  try {
    // KUBEMEND_BENCH_REUSE=1: measure on the lab KUBEMEND_BENCH_LAB that is already up (left up).
    const lab =
      (process.env['KUBEMEND_BENCH_REUSE'] ? openLab(LAB) : undefined) ??
      (await upLab({
        name: LAB,
        nodes: ALL_NODES.map((n) => n.name),
        replace: true,
        log: (l) => console.log(`[lab] ${l}`),
      }));
    const inventory = readFileSync(lab.inventoryPath, 'utf8');
    const [head] = inventory.split(/^nodes:$/m);
    const entries = [...inventory.matchAll(/^ {2}(\S+): (\{.*\})$/gm)].map((m) => [m[1]!, m[2]!] as const);
    const command = gatherCommand();
    writeFileSync(join(work, 'command'), command);
    writeFileSync(
      join(work, 'one.sh'),
      `exec ssh -i ${lab.keyPath} -o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes root@"$1" "$(cat ${join(work, 'command')})"\n`,
    );
    for (const k of ks) {
      const n = k * entries.length;
      const inv = join(work, `inventory-${k}.yaml`);
      const lines = Array.from({ length: k }, (_, j) =>
        entries.map(([name, body]) => `  ${name}-k${j + 1}: ${body}\n`).join(''),
      );
      writeFileSync(inv, `${head}nodes:\n${lines.join('')}`);
      writeFileSync(
        join(work, `hosts-${k}`),
        Array.from({ length: k }, () => lab.nodes.map((x) => x.host).join('\n')).join('\n') + '\n',
      );
      const results: { name: string; s: Sample }[] = [];
      for (const verb of verbs) {
        const [cmd, ...flags] = verb.trim().split(' ');
        const s =
          cmd === 'openssh'
            ? await measure(
                'sh',
                [
                  '-c',
                  `xargs -P ${concurrency} -n 1 sh ${join(work, 'one.sh')} < ${join(work, `hosts-${k}`)}`,
                ],
                process.env,
                { sampleRss: true },
              )
            : await measure(
                process.execPath,
                [BIN, cmd!, '-i', inv, '-o', 'json', '--concurrency', String(concurrency), ...flags],
                { PATH: process.env['PATH'], HOME: home },
                { sampleRss: true },
              );
        const name = cmd === 'openssh' ? `OpenSSH (xargs -P ${concurrency} ssh)` : `kubemend ${verb.trim()}`;
        const ok =
          cmd === 'openssh'
            ? s.stdout.split('KM1 DONE').length - 1 === n
            : ((JSON.parse(s.stdout) as { errors?: unknown[]; nodes: { status?: string }[] }).errors
                ?.length ??
                (JSON.parse(s.stdout) as { nodes: { status?: string }[] }).nodes.filter(
                  (x) => x.status === 'error',
                ).length) === 0;
        console.log(
          `[bench] ${n} entries, ${name}: ${secs(s.wallMs)} wall, ${(s.cpuMs / n).toFixed(1)} ms CPU per entry, ` +
            `${((s.peakRssKiB ?? 0) / 1024).toFixed(0)} MiB, ${s.peakProcesses} processes${ok ? '' : ' (NOT every node read)'}`,
        );
        results.push({ name: ok ? name : `${name} (not every node read)`, s });
      }
      const floor = results.find((r) => r.name.startsWith('OpenSSH'))?.s;
      for (const { name, s } of results)
        rows.push(
          `| ${n.toLocaleString('en-US')} | ${name} | ${secs(s.wallMs)} | ${secs(s.cpuMs)} | ${(s.cpuMs / n).toFixed(1)} ms | ` +
            `${((s.peakRssKiB ?? 0) / 1024).toFixed(0)} MiB | ${s.peakProcesses} | ${floor ? `${(s.wallMs / floor.wallMs).toFixed(2)}×` : '?'} |`,
        );
    }
    const table = [
      '| entries | tool | wall | CPU (user + sys) | CPU per entry | peak RSS | peak processes | wall / OpenSSH |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
    console.log(`\n${table}`);
    const section = `${SCALE_RUN}

\`npm run bench -- --scale ${sizes}\` (test/bench/bench.ts), on ${new Date().toISOString().slice(0, 10)}: the lab's
${entries.length} nodes (every layout) listed K times under new names, \`--concurrency ${concurrency}\`, one run per
row. Machine: ${cpus().length} cores and ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared by the tools, the ${entries.length} nodes and
other work (wall time is noisy; CPU and memory are the measures). CPU is the user + system time of the
tool's process tree (ssh clients it waits for included); peak RSS and processes are sampled from /proc
every 25 ms over the same tree.

${table}
`;
    const file = join(ROOT, 'BENCHMARKS.md');
    writeFileSync(file, withScaleRun(readFileSync(file, 'utf8'), section));
    return 0;
  } finally {
    if (!process.env['KUBEMEND_BENCH_REUSE']) await downLab(LAB, { log: (l) => console.log(`[lab] ${l}`) });
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
