/**
 * CIS Kubernetes 4.2.2 / CIS Amazon EKS 3.2.2: the kubelet's authorization mode is not AlwaysAllow.
 * Opt-in. The fix sets Webhook (the kubelet asks the API server with a SubjectAccessReview) and
 * authentication.webhook.enabled: true (bearer tokens checked with a TokenReview); both need the
 * kubelet's kubeconfig, so a kubelet without one is blocked with the reason. A kubelet without
 * --config defaults to AlwaysAllow; with a config file the v1beta1 default is Webhook (node-facts §1.5).
 */
import { KUBELET } from '../../facts/kubelet-setting.js';
import { nodeModel } from '../../facts/model.js';
import { factsWithChanges } from '../../facts/with-changes.js';
import { judgeKubeletSetting } from '../kubelet-setting/check.js';
import { KUBEMEND_UNIT_DROPINS, planKubeletSetting } from '../kubelet-setting/plan.js';
import type { Control } from '../types.js';

const CONTROL = 'kubelet-authorization-mode' as const;

export const kubeletAuthorizationMode: Control = {
  id: CONTROL,
  aliases: ['cis-k8s-4.2.2', 'cis-eks-3.2.2'],
  benchmarks: ['CIS Kubernetes 4.2.2', 'CIS Amazon EKS 3.2.2'],
  title: 'The kubelet authorizes requests (authorization mode not AlwaysAllow)',
  optIn: true,
  channel: 'kubelet-access',
  check: (model) =>
    judgeKubeletSetting<string>(model, KUBELET.authorizationMode, {
      ok: (v) => v !== 'AlwaysAllow',
      text: 'every request that reaches the kubelet API is allowed',
    }),
  gather: () => ({ files: [...KUBEMEND_UNIT_DROPINS], keys: [], pairs: [] }),
  plan: (model, result, playbook, ctx) => {
    if (result.status === 'fail' && !model.kubelet.kubeconfig)
      return {
        blocked: [
          {
            control: CONTROL,
            reason:
              'the kubelet has no --kubeconfig: in Webhook mode it asks the API server whether each caller may do what it asks (SubjectAccessReview), and without a kubeconfig it has no way to ask, so every request would be refused',
            fix: 'join the node to the cluster with a kubeconfig for the kubelet (--kubeconfig), then plan again',
          },
        ],
      };
    const mode = planKubeletSetting(model, result, playbook, ctx, {
      control: CONTROL,
      setting: KUBELET.authorizationMode,
      value: 'Webhook',
      name: 'the authorization mode',
      shown: 'authorization.mode: Webhook',
      expect: 'an authorization mode',
      purpose: [
        'have the kubelet authorize requests with the API server (CIS Kubernetes 4.2.2, CIS EKS 3.2.2):',
        'authorization.mode Webhook, and bearer tokens checked by the API server.',
      ],
      // Who is refused from now on: said, not discovered.
      notes: (after) => [
        `After this change the kubelet asks the API server whether each caller may do what it asks (SubjectAccessReview): the kube-apiserver's kubelet client user must be allowed nodes/proxy (kubeadm binds system:kubelet-api-admin to it; check with kubectl auth can-i get nodes/proxy --as <CN of its kubelet client certificate>) or kubectl logs/exec get 403, and callers without credentials${after.settings?.anonymousEnabled.value === true ? ', still let in as system:anonymous,' : ''} get 403 or 401, scrapers of port ${after.settings?.port.value ?? 10250} without a token included.`,
      ],
    });
    if (!mode.changes?.length) return mode;
    // Tokens too (the benchmarks' audit asks for authentication.webhook.enabled: true): planned on
    // the node as the first change leaves it, so one file edited twice is one change.
    const next = {
      ...nodeModel(factsWithChanges(model.facts, mode.changes)),
      layout: model.layout,
      role: model.role,
    };
    const webhook = planKubeletSetting(next, result, playbook, ctx, {
      control: CONTROL,
      setting: KUBELET.webhookAuthentication,
      value: true,
      name: 'webhook authentication',
      shown: 'authentication.webhook.enabled: true',
      expect: 'true or false',
      purpose: [
        'have the kubelet check bearer tokens with the API server (CIS Kubernetes 4.2.2, CIS EKS 3.2.2).',
      ],
    });
    if (webhook.blocked?.length) return webhook;
    return { changes: [...mode.changes, ...(webhook.changes ?? [])] };
  },
  gate: () => ({ apiserverFlags: [] }),
};
