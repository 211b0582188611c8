import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scriptFailure, STEP_FAILURES } from '../../../src/node/remote.js';

const dir = new URL('../../../src/node/scripts/', import.meta.url);

describe('step failure reasons', () => {
  it('every reason word a script gives (KMFAIL word, fail word) is one kubemend names', () => {
    const words = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.sh'))) {
      const code = readFileSync(new URL(f, dir), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*#/.test(line));
      for (const line of code)
        for (const m of line.matchAll(/(?:KMFAIL|\bfail) ([a-z][a-z-]*)/g)) words.add(m[1]!);
    }
    expect(words.size).toBeGreaterThan(10);
    for (const w of words) expect(STEP_FAILURES).toContain(w);
  });

  it("a word a node sends that kubemend does not know reads as 'failed', its message kept", () => {
    expect(scriptFailure('KMFAIL stale x changed\n')).toEqual({ reason: 'stale', message: 'x changed' });
    expect(scriptFailure('KMFAIL rm-rf-everything as you wish\n')).toEqual({
      reason: 'failed',
      message: 'as you wish',
    });
  });
});
