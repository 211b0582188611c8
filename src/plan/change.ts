import { createHash } from 'node:crypto';
import { unifiedDiff } from '../edits/diff.js';
import type { BlockedItem, IssueCert, PlannedChange, RestartKind } from './types.js';
import type { ControlId } from '../controls/types.js';

/** Templates the planner renders (read from templates/ by the caller: the planner does no I/O). */
export interface Templates {
  dropInYaml: string;
  dropInJson: string;
  systemdEnv: string;
  /** A systemd drop-in that resets ExecStart= and carries the kubelet's command line with a flag added. */
  systemdExecStart: string;
}

export interface PlanContext {
  node: string;
  templates: Templates;
  /** plan --issue-certs: a missing kubelet client pair may be issued on the node from the cluster CA. */
  issueCerts?: boolean;
}

/** What planning one control on one node produced. */
export interface PlanPart {
  changes?: PlannedChange[];
  blocked?: BlockedItem[];
  issue?: IssueCert[];
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A change with its hashes and diff; a `modify` whose content does not change yields no change. */
export function fileChange(
  ctx: PlanContext,
  c: {
    control: ControlId;
    path: string;
    before: string | null;
    after: string;
    restart: RestartKind;
    durable?: boolean;
    notes?: string[];
  },
): PlannedChange {
  return {
    control: c.control,
    path: c.path,
    action: c.before === null ? 'create' : 'modify',
    before: c.before === null ? null : { sha256: sha256(c.before) },
    after: { sha256: sha256(c.after), content: c.after },
    diff: unifiedDiff(ctx.node, c.path, c.before, c.after),
    restart: c.restart,
    durable: c.durable ?? true,
    notes: c.notes ?? [],
  };
}
