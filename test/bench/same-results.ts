// Runs two builds of kubemend (e.g. main's dist and this tree's) on the same inventory and
// compares their JSON output apart from the run's timestamps: a performance change must not
// change a result.
//   node --import tsx test/bench/same-results.ts OLD_DIST/bin.js NEW_DIST/bin.js INVENTORY [audit|plan]…
// Exit 0 when every verb's documents are the same, 1 otherwise (the first differences printed).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/** The keys that hold when the run happened, not what it found. */
const TIMES = new Set(['startedAt', 'finishedAt', 'createdAt']);

const withoutTimes = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(withoutTimes);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v).flatMap(([k, x]) => (TIMES.has(k) ? [] : [[k, withoutTimes(x)]])),
    );
  return v;
};

/** GNU time, when installed: each run's wall, CPU (user + system, ssh children included) and peak RSS. */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const MEASURE = 'KUBEMEND-TIME %e %U %S %M';
let runs = 0;

function run(bin: string, verb: string, inventory: string): unknown {
  const argv = [process.execPath, bin, verb, '-i', inventory, '-o', 'json'];
  const r = spawnSync(TIME ?? argv[0]!, TIME ? ['-f', MEASURE, ...argv] : argv.slice(1), {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const m = /^KUBEMEND-TIME (\S+) (\S+) (\S+) (\d+)$/m.exec(r.stderr);
  if (m)
    console.log(
      `  ${bin} ${verb}: ${m[1]} s wall, ${(Number(m[2]) + Number(m[3])).toFixed(1)} s CPU, ${(Number(m[4]) / 1024).toFixed(0)} MiB peak RSS`,
    );
  if (r.status === null || r.status === 2) throw new Error(`${bin} ${verb}: exit ${r.status}: ${r.stderr}`);
  // KUBEMEND_SAME_RESULTS_KEEP=DIR: each document kept there, to look at the differences.
  const keep = process.env['KUBEMEND_SAME_RESULTS_KEEP'];
  if (keep) writeFileSync(join(keep, `${verb}-${++runs}.json`), r.stdout);
  return withoutTimes(JSON.parse(r.stdout));
}

/** Paths where a and b differ (at most `max`). */
function differences(a: unknown, b: unknown, path = '$', out: string[] = [], max = 10): string[] {
  if (out.length >= max || isDeepStrictEqual(a, b)) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys)
      differences(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
        out,
        max,
      );
  } else out.push(`${path}: ${JSON.stringify(a)?.slice(0, 200)} != ${JSON.stringify(b)?.slice(0, 200)}`);
  return out;
}

const [oldBin, newBin, inventory, ...verbs] = process.argv.slice(2);
if (!oldBin || !newBin || !inventory) {
  console.error('usage: same-results.ts OLD_BIN NEW_BIN INVENTORY [audit|plan]…');
  process.exit(2);
}
let same = true;
for (const verb of verbs.length > 0 ? verbs : ['audit', 'plan']) {
  const diffs = differences(run(oldBin, verb, inventory), run(newBin, verb, inventory));
  console.log(`${verb}: ${diffs.length === 0 ? 'same JSON apart from timestamps' : 'DIFFERENT'}`);
  for (const d of diffs) console.log(`  ${d}`);
  if (diffs.length > 0) same = false;
}
process.exitCode = same ? 0 : 1;
