/**
 * CIS Kubernetes 4.2.1 / CIS Amazon EKS 3.2.1: the kubelet refuses anonymous requests
 * (`authentication.anonymous.enabled: false`, `--anonymous-auth=false`). Opt-in. A kubelet without
 * --config has anonymous requests on by default; with a config file the v1beta1 default is off
 * (node-facts §1.5). Judged and planned through controls/kubelet-setting/.
 */
import { KUBELET } from '../../facts/kubelet-setting.js';
import { judgeKubeletSetting } from '../kubelet-setting/check.js';
import { KUBEMEND_UNIT_DROPINS, planKubeletSetting } from '../kubelet-setting/plan.js';
import type { Control } from '../types.js';

const CONTROL = 'kubelet-anonymous-auth' as const;

export const kubeletAnonymousAuth: Control = {
  id: CONTROL,
  aliases: ['cis-k8s-4.2.1', 'cis-eks-3.2.1'],
  benchmarks: ['CIS Kubernetes 4.2.1', 'CIS Amazon EKS 3.2.1'],
  title: 'The kubelet refuses anonymous requests',
  optIn: true,
  channel: 'kubelet-access',
  check: (model) =>
    judgeKubeletSetting<boolean>(model, KUBELET.anonymousAuth, {
      ok: (v) => v === false,
      text: 'anonymous requests to the kubelet API are served as system:anonymous',
    }),
  gather: () => ({ files: [...KUBEMEND_UNIT_DROPINS], keys: [], pairs: [] }),
  plan: (model, result, playbook, ctx) =>
    planKubeletSetting(model, result, playbook, ctx, {
      control: CONTROL,
      setting: KUBELET.anonymousAuth,
      value: false,
      name: 'anonymous authentication',
      shown: 'authentication.anonymous.enabled: false',
      expect: 'true or false',
      purpose: [
        'turn anonymous requests to the kubelet API off (CIS Kubernetes 4.2.1, CIS EKS 3.2.1):',
        'callers without a client certificate or token the kubelet accepts get 401.',
      ],
      // What called the kubelet without credentials is refused from now on: said, not discovered.
      notes: (after) => [
        `After this change the kubelet answers 401 to every caller without credentials it accepts: scrapers and health checks that call port ${after.settings?.port.value ?? 10250} anonymously stop working; the kube-apiserver must present its kubelet client certificate (--kubelet-client-certificate), signed by the kubelet's client CA, or kubectl logs/exec fail.`,
        ...(after.settings && after.settings.readOnlyPort.value !== 0
          ? [
              `The read-only port ${after.settings.readOnlyPort.value} (${after.settings.readOnlyPort.key}) still serves without any authentication; it is not changed by this control.`,
            ]
          : []),
      ],
    }),
  gate: () => ({ apiserverFlags: [] }),
};
