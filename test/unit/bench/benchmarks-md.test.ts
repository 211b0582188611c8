import { describe, expect, it } from 'vitest';
import { SCALE_RUN, withScaleRun } from '../../bench/benchmarks-md.js';

const doc = '# Benchmarks\n\ntop\n\n## Scale (issue 23)\n\nhand-written table\n\nnotes\n';

describe('npm run bench -- --scale writes its own part of the Scale section', () => {
  it('added at the end of "## Scale (issue 23)", the hand-written part kept', () => {
    const once = withScaleRun(doc, `${SCALE_RUN}\n\n| run 1 |\n`);
    expect(once).toBe(`${doc}\n${SCALE_RUN}\n\n| run 1 |\n`);
    // Run again: replaced, not appended.
    expect(withScaleRun(once, `${SCALE_RUN}\n\n| run 2 |\n`)).toBe(`${doc}\n${SCALE_RUN}\n\n| run 2 |\n`);
  });

  it('a section after Scale stays after it', () => {
    const more = `${doc}\n## Later\n\nx\n`;
    expect(withScaleRun(more, `${SCALE_RUN}\n\nrun\n`)).toBe(
      `${doc}\n${SCALE_RUN}\n\nrun\n\n## Later\n\nx\n`,
    );
  });
});
