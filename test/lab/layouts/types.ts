import type { LabPki } from '../pki.js';

export type Variant = 'ok' | 'bad';
export type Role = 'control-plane' | 'worker' | 'none';
/** What kubemend should report for a control on that node (DESIGN.md statuses). */
export type Expected = 'pass' | 'fail' | 'skip';

export interface ExpectedResults {
  'apiserver-kubelet-client-cert': Expected;
  'kubelet-client-ca': Expected;
}

/** Something written into a node's upper layer before it boots (owner root). */
export type NodeFile =
  | { path: string; content: string; mode?: number }
  | { path: string; symlink: string }
  | { path: string; dir: true; mode?: number };

export interface LayoutContext {
  node: string;
  variant: Variant | null;
  /** The node's lab address, which replaces the addresses found in fixtures. */
  address: string;
  /** The host's address on the lab bridge. */
  hostAddress: string;
  pki: LabPki;
  fixture(relPath: string): Promise<string>;
}

export interface Layout {
  /** Node name prefix: nodes are `<id>-ok` / `<id>-bad`, or `<id>` when there are no variants. */
  id: string;
  /** Distribution family, used as an inventory group. */
  family: string;
  role: Role;
  variants: readonly Variant[] | null;
  /** Where the kubelet launchers go (the unit's ExecStart); empty = no kubelet, no simulators. */
  kubeletPaths: string[];
  /** What a kubelet/apiserver on a freshly booted node is expected to do (up waits for it). */
  runs: { kubelet: boolean; apiserver: boolean };
  expected(variant: Variant | null): ExpectedResults;
  files(ctx: LayoutContext): Promise<NodeFile[]>;
}
