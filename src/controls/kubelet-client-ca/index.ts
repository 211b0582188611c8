/**
 * CIS EKS 3.2.3 / CIS Kubernetes 4.2.3: the kubelet verifies client certificates against a client
 * CA (authentication.x509.clientCAFile, or --client-ca-file). Judged in check.ts (with the open
 * door of open-door.ts), planned in plan.ts.
 */
import type { Control } from '../types.js';
import { kubeletClientCaCheck } from './check.js';
import { openDoor } from './open-door.js';
import { KUBEMEND_UNIT_DROPINS, planKubeletClientCa } from './plan.js';

export const kubeletClientCa: Control = {
  ...kubeletClientCaCheck,
  // The CA bundle the fix points at, and kubemend's own systemd drop-in (is it there already?).
  channel: 'kubelet-trust',
  gather: (playbook) => ({
    files: [playbook.kubelet.clientCAFile, ...KUBEMEND_UNIT_DROPINS],
    keys: [],
    pairs: [],
  }),
  plan: (model, result, playbook, ctx) => planKubeletClientCa(model, result, playbook, ctx),
  // A plan that also closes the door (anonymous off, AlwaysAllow off) no longer leaves it open.
  outdated: (before, after) => {
    const door = openDoor(before.kubelet.settings);
    return door && !openDoor(after.kubelet.settings) ? [door.text] : [];
  },
  // A restarted kubelet is proven by the health gate itself (new PID, healthz); nothing more to expect.
  gate: () => ({ apiserverFlags: [] }),
};
