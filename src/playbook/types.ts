/** A remediation recipe (playbooks/*.yaml): which files the fixes point at, and how long to wait. */
export interface Playbook {
  name: string;
  description: string;
  layouts: string[];
  /** Absent for layouts without a customer-managed apiserver (EKS). */
  apiserver?: {
    kubeletClientCertificate: string;
    kubeletClientKey: string;
    /** The way out shown when a change is blocked because the pair is missing. */
    fix: string;
    /** --issue-certs: sign a new pair on the node with the cluster CA. */
    issue?: { caCertificate: string; caKey: string; subject: string; days: number };
  };
  kubelet: {
    clientCAFile: string;
    /** File name of the drop-in kubemend writes into a --config-dir. */
    dropInName: string;
    /** What would make a change last when the layout regenerates the file it edits. */
    durabilityNote?: string;
  };
  timeouts: { kubeletHealthySec: number; kubeletStableSec: number; apiserverRestartSec: number };
  rollout: { serial: number };
  /** Where it was loaded from. */
  file: string;
}
