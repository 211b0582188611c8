// vitest globalSetup for the e2e project: one lab with every layout, shared by all e2e files.
import type { TestProject } from 'vitest/node';
import { downLab, labInfo, upLab } from '../lab/lab.js';
import { labProblems } from '../lab/preflight.js';

// KUBEMEND_E2E_LAB: another name lets two checkouts run their e2e tiers side by side (each lab has its own bridge).
const LAB_NAME = process.env.KUBEMEND_E2E_LAB || 'e2e';
const log = (line: string) => console.log(`[lab] ${line}`);
const ciIsSet = (): boolean => !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const problems = labProblems('up');
  if (problems.length > 0) {
    const notice = `e2e tier skipped: ${problems.join('; ')}`;
    console.warn(notice);
    // A CI run that silently skips the tier that talks to real nodes would pass for nothing.
    if (ciIsSet()) throw new Error(`${notice}\n(CI is set, and a skipped e2e tier fails CI)`);
    project.provide('lab', undefined);
    return undefined;
  }
  // replace: a lab left by an interrupted run (teardown never ran) is torn down first.
  // KUBEMEND_E2E_NODES=a,b boots only those nodes of the shared lab, for a test file that brings
  // its own lab (apply, hostile) and needs the shared one only to know the tier can run.
  const nodes = process.env.KUBEMEND_E2E_NODES?.split(',').filter(Boolean);
  const lab = await upLab({ name: LAB_NAME, replace: true, log, ...(nodes?.length ? { nodes } : {}) });
  project.provide('lab', labInfo(lab));
  return async () => {
    await downLab(LAB_NAME, { log });
  };
}
