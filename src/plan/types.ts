import type { ControlId } from '../controls/types.js';

export type RestartKind = 'kubelet' | 'kubelet+daemon-reload' | 'static-pod:kube-apiserver';

/** One file kubemend will write (DESIGN.md "Plan file"). */
export interface PlannedChange {
  control: ControlId;
  /** Every control whose edits this one change carries, when more than one edited the file. */
  controls?: ControlId[];
  path: string;
  action: 'modify' | 'create';
  /** null for `create`: the file must still be absent at apply time. */
  before: { sha256: string } | null;
  after: { sha256: string; content: string };
  diff: string;
  restart: RestartKind;
  /** false: takes effect now, but the node's tooling regenerates the file at boot. */
  durable: boolean;
  notes: string[];
}

/**
 * kubemend addition (`plan --issue-certs`): a key and certificate to create on the node itself,
 * signed by the cluster CA there. The private keys never leave the node, so the plan holds the
 * recipe, not the bytes; apply creates both only while they are still absent.
 */
export interface IssueCert {
  control: ControlId;
  certificate: string;
  key: string;
  caCertificate: string;
  caKey: string;
  /** openssl -subj form, e.g. /O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client */
  subject: string;
  days: number;
}

export interface BlockedItem {
  control: ControlId;
  reason: string;
  fix: string;
}

export type NodePlanStatus = 'compliant' | 'change' | 'blocked' | 'error';

export interface NodePlan {
  node: string;
  host: string;
  port: number;
  /** SHA256 fingerprint of the host key seen while planning; apply refuses another key. */
  hostKey: string | null;
  role: 'control-plane' | 'worker' | null;
  layout: string | null;
  status: NodePlanStatus;
  changes: PlannedChange[];
  blocked: BlockedItem[];
  /** kubemend addition: certificates to issue on the node before the changes (plan --issue-certs). */
  issue?: IssueCert[];
  /** kubemend addition: the playbook the node's changes came from. */
  playbook?: string;
  /** kubemend addition: why the node could not be planned (status error). */
  error?: string;
  /** kubemend addition: what a reviewer must know about the node (a kubemend run that died there). */
  warnings?: string[];
  /** kubemend addition: a kubemend run died on the node after writing; apply and rollback recover it first. */
  deadRun?: { runId: string; startedAt: string | null };
  /** kubemend addition: the node's cluster (inventory name, or short fingerprint of its cluster CA). */
  cluster?: string;
  /** kubemend addition: what apply's live trust gate needs, as the node will be after its plan. */
  trust?: NodeTrust;
}

/**
 * What apply's trust gate dials on this node. The certificate a control plane calls with is not
 * here: the probe reads it from the running kube-apiserver's command line on that control plane.
 */
export interface NodeTrust {
  /**
   * The kubelet's HTTPS port (10250 unless its config says otherwise), when it verifies callers
   * with a client CA: one it has now, or one its plan gives it (then only once applied).
   */
  kubelet?: { port: number; clientCA: 'now' | 'planned' };
}

export interface PlanFile {
  version: 1;
  tool: string;
  createdAt: string;
  /** kubemend addition: the controls the plan was made for (apply computes each entry with them). */
  controls?: ControlId[];
  nodes: NodePlan[];
}
