/**
 * Issue 23: a node's facts are garbage once it is judged; V8's young generation would otherwise grow
 * to 16 MiB a semi-space (32 MiB of RSS) holding them. bin.ts imports young-generation.ts first.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('../../../src/young-generation.ts', import.meta.url));

/** A process that keeps allocating what a node read allocates (short-lived, some of it kept a while). */
const churn = `
  const { getHeapSpaceStatistics } = await import('node:v8');
  if (process.env.WITH_MODULE) await import(process.env.WITH_MODULE);
  let inFlight = [];
  for (let i = 0; i < 200_000; i++) {
    inFlight.push({ line: 'KM FILE ' + i, fields: [i, String(i).repeat(8)] });
    if (inFlight.length > 20_000) inFlight = [];
  }
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  console.log(young.space_size);
`;

const youngAfterChurn = (withModule: boolean, nodeOptions?: string): number => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', churn], {
    encoding: 'utf8',
    env: {
      ...process.env,
      ...(withModule ? { WITH_MODULE: MODULE } : {}),
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    },
  });
  expect(r.stderr).toBe('');
  return Number(r.stdout.trim()) / 2 ** 20;
};

describe('the young generation stays small', () => {
  it('at V8’s initial size with young-generation.ts, where V8 alone grows it', () => {
    // Without it V8 grows the young generation under this churn (to 32 MiB on a machine with a few
    // GiB; V8 sizes its bound from the machine's memory); with it, 2 to 4 MiB (the test runner's
    // own loader allocates before the module is imported; bin.ts imports it first).
    const small = youngAfterChurn(true);
    expect(small).toBeLessThanOrEqual(4);
    expect(youngAfterChurn(false)).toBeGreaterThan(small);
  });

  it('as the user sized it in NODE_OPTIONS', () => {
    expect(youngAfterChurn(true, '--max-semi-space-size=16')).toBeGreaterThanOrEqual(16);
  });
});
