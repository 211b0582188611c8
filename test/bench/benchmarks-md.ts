// Where `npm run bench -- --scale` writes in BENCHMARKS.md (test/bench/bench.ts): its own part of
// the Scale section, leaving the hand-written tables and notes there alone.

/** The heading of the part of BENCHMARKS.md that --scale writes, inside "## Scale (issue 23)". */
export const SCALE_RUN = '### Latest `npm run bench -- --scale` run';

/**
 * BENCHMARKS.md with the --scale run's part replaced (from its heading to the next heading of the
 * same or a higher level), or added at the end of the "## Scale" section; everything else kept.
 */
export function withScaleRun(text: string, section: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === SCALE_RUN);
  const endAfter = (from: number, level: RegExp) => {
    const i = lines.findIndex((l, j) => j > from && level.test(l));
    return i < 0 ? lines.length : i;
  };
  const body = section.trimEnd().split('\n');
  if (start >= 0) {
    const end = endAfter(start, /^#{1,3} /);
    return [...lines.slice(0, start), ...body, '', ...lines.slice(end)].join('\n').trimEnd() + '\n';
  }
  const scale = lines.findIndex((l) => /^## Scale\b/.test(l));
  if (scale < 0) return `${text.trimEnd()}\n\n## Scale (issue 23)\n\n${section.trimEnd()}\n`;
  const end = endAfter(scale, /^#{1,2} /);
  const head = lines.slice(0, end).join('\n').trimEnd();
  const tail = lines.slice(end).join('\n');
  return `${head}\n\n${section.trimEnd()}\n${tail ? `\n${tail}` : ''}`.trimEnd() + '\n';
}
