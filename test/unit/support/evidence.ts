import { expect } from 'vitest';
import type { AuditResult } from '../../../src/controls/types.js';

type Checked = Pick<AuditResult, 'status' | 'reason' | 'evidence'>;

/**
 * The evidence rule (DESIGN.md, issue 11): every pass/fail/error result of a node that was read
 * has at least one evidence item with a source, and no evidence item lacks one. Returns the result.
 */
export function sourced<T extends Checked>(r: T): T {
  for (const e of r.evidence)
    expect(e.source, `evidence "${e.key}" of "${r.reason}" has no source`).not.toBe('');
  if (r.status !== 'skip')
    expect(r.evidence.length, `${r.status} "${r.reason}" has no evidence`).toBeGreaterThan(0);
  return r;
}
