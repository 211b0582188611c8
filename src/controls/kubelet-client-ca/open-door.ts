import type { KubeletSettings, Sourced } from '../../facts/kubelet.js';
import type { ControlId, Evidence } from '../types.js';

/**
 * The opt-in controls that close the door (channel kubelet-access). Named here, not looked up in
 * the registry: the registry imports this folder, so a lookup at load time would be a cycle.
 */
const CLOSERS: readonly ControlId[] = ['kubelet-anonymous-auth', 'kubelet-authorization-mode'];

/** Where a setting came from, in a reviewer's words. */
function from(s: Sourced<unknown>): string {
  if (s.layer === 'default')
    return s.key.includes('without --config')
      ? 'the legacy default of a kubelet without --config'
      : "the kubelet's default";
  if (s.layer === 'flag') return `${s.key} on the command line`;
  return `${s.key} in ${s.source}`;
}

/**
 * The kubelet serves anyone who reaches its port when anonymous requests are on and authorization
 * is AlwaysAllow (the legacy defaults of every kubelet without --config, node-facts §1.5): a client
 * CA only lets it recognise the apiserver, it refuses nobody (CIS 4.2.1, 4.2.2).
 */
export function openDoor(
  settings: KubeletSettings | undefined,
): { text: string; evidence: Evidence[] } | undefined {
  if (!settings) return undefined;
  const { anonymousEnabled: anon, authorizationMode: mode } = settings;
  if (anon.value !== true || mode.value !== 'AlwaysAllow') return undefined;
  return {
    text: `anonymous requests are enabled (${from(anon)}) and authorization is AlwaysAllow (${from(mode)}): anyone who reaches the kubelet's port ${settings.port.value} is served, client CA or not. CIS 4.2.1: set --anonymous-auth=false (authentication.anonymous.enabled: false); CIS 4.2.2: set --authorization-mode=Webhook (authorization.mode: Webhook, with authentication.webhook.enabled: true and a kubeconfig the kubelet can use). kubemend changes these only when asked: --controls ${CLOSERS.join(',')} (opt-in; --controls all plans them with the client CA and the kube-apiserver's kubelet client pair they need)`,
    evidence: [
      { source: anon.source, key: anon.key, value: String(anon.value) },
      { source: mode.source, key: mode.key, value: mode.value },
    ],
  };
}
