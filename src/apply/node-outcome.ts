/** What a node's run came to (pure: the type only; apply/outcome.ts classifies failures into it). */
export type NodeOutcome =
  | {
      node: string;
      status: 'applied';
      backup: string;
      changed: string[];
      recovered?: string;
      /** The live trust gate: each probe and its answer, and each check that could not run and why. */
      trust?: string[];
    }
  | { node: string; status: 'compliant'; recovered?: string }
  /** The node already holds this plan's files and passes: a run of the same plan got here before. */
  | { node: string; status: 'already-applied'; reason: string }
  /** A dead run was rolled back on the node; this plan had nothing more to do there. */
  | { node: string; status: 'recovered'; reason: string; deadRun: string }
  | { node: string; status: 'stale'; reason: string }
  | { node: string; status: 'blocked'; reason: string }
  | { node: string; status: 'skipped'; reason: string }
  | {
      node: string;
      status: 'rolled-back';
      reason: string;
      backup: string;
      evidence: string[];
      internal?: true;
    }
  | {
      node: string;
      status: 'rollback-failed';
      reason: string;
      backup: string;
      manual: string[];
      internal?: true;
    }
  | { node: string; status: 'error'; reason: string; internal?: true };

/** What the recovery pass (apply/recovery-pass.ts) found on one node before the rollout. */
export type RecoveryResult =
  { status: 'none' } | { status: 'recovered' | 'failed' | 'locked' | 'error'; outcome: NodeOutcome };
