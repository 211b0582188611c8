import { issuedBy, parsePemBundle } from '../certs.js';
import { regeneratedBy } from './check.js';
import { openDoor } from './open-door.js';
import { rewrittenBy } from './rewritten.js';
import type { AuditResult } from '../types.js';
import { lastFlag } from '../../facts/flags.js';
import { KUBELET } from '../../facts/kubelet-setting.js';
import type { NodeModel } from '../../facts/model.js';
import type { Playbook } from '../../playbook/types.js';
import type { PlanContext, PlanPart } from '../../plan/change.js';
import { planKubeletSetting, type SettingFix } from '../kubelet-setting/plan.js';

export { KUBEMEND_UNIT_DROPINS } from '../kubelet-setting/plan.js';

const CONTROL = 'kubelet-client-ca' as const;

/** What the comment of a kubelet drop-in kubemend creates for the client CA says it is for. */
export const CLIENT_CA_PURPOSE = [
  "set the kubelet's client CA (CIS EKS 3.2.3): the kubelet then authenticates",
  "client certificates signed by this CA, such as the kube-apiserver's kubelet client certificate.",
];

/** The CA bundle the fix points at, checked before anything is planned. */
function preflightCa(model: NodeModel, playbook: Playbook, caPath: string): PlanPart | undefined {
  const file = model.facts.files.get(caPath);
  const how = `copy the cluster CA bundle to ${caPath} on the node, or point kubelet.clientCAFile at the right file (inventory params or -p playbook)`;
  if (!file || file.status === 'missing')
    return {
      blocked: [
        { control: CONTROL, reason: `client CA bundle ${caPath} does not exist on the node`, fix: how },
      ],
    };
  if (file.status !== 'ok')
    return {
      blocked: [
        { control: CONTROL, reason: `client CA bundle ${caPath} is not readable (${file.status})`, fix: how },
      ],
    };
  const cas = parsePemBundle(file.content ?? '');
  if (cas.length === 0)
    return { blocked: [{ control: CONTROL, reason: `${caPath} holds no PEM certificate`, fix: how }] };
  // Cross-check (pitfall 9): a CA that did not sign the apiserver's kubelet client cert turns every
  // kubectl logs/exec into a 401 while the kubelet looks healthy.
  const apiCertPath =
    lastFlag(model.apiserver.processFlags, 'kubelet-client-certificate')?.value ||
    (model.apiserver.manifest &&
      lastFlag(model.apiserver.manifest.flags, 'kubelet-client-certificate')?.value) ||
    (model.role === 'control-plane' ? playbook.apiserver?.kubeletClientCertificate : undefined);
  const apiCert = apiCertPath ? model.facts.files.get(apiCertPath) : undefined;
  const [cert] = apiCert?.status === 'ok' ? parsePemBundle(apiCert.content ?? '') : [];
  if (cert && !issuedBy(cert, cas))
    return {
      blocked: [
        {
          control: CONTROL,
          reason: `the kube-apiserver's kubelet client certificate ${apiCertPath ?? ''} is not signed by ${caPath}: with this CA the kubelet would answer kubectl logs/exec with 401`,
          fix: `use the CA that signed ${apiCertPath ?? ''} (kubelet.clientCAFile), or reissue the apiserver's kubelet client certificate from ${caPath}`,
        },
      ],
    };
  return undefined;
}

/**
 * Plans the kubelet client CA fix in the layer of the kubelet's configuration that wins, and proves
 * it (controls/kubelet-setting/plan.ts), after checking the CA bundle it points at.
 */
export function planKubeletClientCa(
  model: NodeModel,
  result: AuditResult,
  playbook: Playbook,
  ctx: PlanContext,
): PlanPart {
  const caPath = playbook.kubelet.clientCAFile;
  const fix: SettingFix = {
    control: CONTROL,
    setting: KUBELET.clientCAFile,
    value: caPath,
    name: 'the client CA',
    shown: caPath,
    expect: 'a file path',
    purpose: CLIENT_CA_PURPOSE,
    preflight: () => preflightCa(model, playbook, caPath),
    // Nothing changes silently: a CA alone does not close a kubelet that serves anonymous requests,
    // and a CA file the unit writes again at every start is that command's, not the admin's.
    notes: (after) => {
      const notes: string[] = [];
      const writer = regeneratedBy(model, caPath);
      if (writer)
        notes.push(
          `The client CA ${caPath} is written by an ExecStartPre= of kubelet.service (${writer.source}) when the kubelet starts: after this change the kubelet trusts whatever that command writes there, so it must be the CA that signs the apiserver's kubelet client certificate; kubemend does not change that command.`,
        );
      const door = openDoor(after.settings);
      if (door) notes.push(`After this change the kubelet still serves anyone: ${door.text}.`);
      return notes;
    },
  };
  return planKubeletSetting(model, result, playbook, ctx, fix, (part) =>
    withDurability(model, playbook, part),
  );
}

/** A change to a file the layout's tooling writes again is `durable: false`, with what would last. */
function withDurability(model: NodeModel, playbook: Playbook, part: PlanPart): PlanPart {
  if (!part.changes) return part;
  return {
    ...part,
    changes: part.changes.map((c) => {
      const note = rewrittenBy(model.layout, c.path, model.facts, playbook);
      return note ? { ...c, durable: false, notes: [...c.notes, note] } : c;
    }),
  };
}
