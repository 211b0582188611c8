import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { NodeModel } from './model.js';

/**
 * How a restarted kubelet's health can be proven on this node, for the apply health gate (pure:
 * the gate runs the probes). node-facts §7: /healthz on healthzBindAddress:healthzPort answers only
 * after the config, the client CA and the kubelet started, but `healthzPort: 0` turns it off
 * (Flatcar/Typhoon); the API port (10250, TLS) also comes up only then, and any HTTP answer there,
 * 401/403 included, proves it serves. On nodes that run the kubelet in a container (docker/podman
 * run), the unit's MainPID is the container client, not the kubelet.
 */
export interface KubeletHealth {
  /** `http://<address>:<port>/healthz`, or null when the kubelet has no healthz server. */
  healthzUrl: string | null;
  /** The kubelet's authenticated HTTPS port (`https://<address>:<port>/healthz` answers 200/401/403). */
  securePort: { address: string; port: number };
  /** The unauthenticated read-only HTTP port when it is on (0 = off): its /healthz answers `ok`. */
  readOnlyPort: { address: string; port: number } | null;
  /** Whether kubelet.service's MainPID is the kubelet process itself. */
  mainPidIsKubelet: boolean;
  /**
   * How to find the kubelet process when MainPID is not it: a process whose /proc/PID/comm is
   * `comm` and whose argv contains every word of `argvIncludes` (a new PID after the restart).
   */
  process: { comm: 'kubelet'; argvIncludes: string[] };
  /** Why, in words, for the gate's messages. */
  notes: string[];
}

/**
 * A probe address for a bind address: the wildcard binds are reached on loopback. Only an IP
 * address is ever put into a probe URL (the kubelet accepts nothing else there): any other string
 * from the node's config is not followed, the probe asks loopback, and a kubelet not there fails.
 */
const probeAddress = (bind: string): string => {
  const a = bind.startsWith('[') && bind.endsWith(']') ? bind.slice(1, -1) : bind;
  if (a === '' || a === '0.0.0.0') return '127.0.0.1';
  if (a === '::') return '[::1]';
  if (isIP(a) === 4) return a;
  if (isIP(a) === 6) return `[${a}]`;
  return '127.0.0.1';
};

/** A TCP port from the config, or undefined when it is none (the kubelet refuses such a config). */
const tcpPort = (p: number | undefined): number | undefined =>
  p !== undefined && Number.isInteger(p) && p >= 0 && p <= 65535 ? p : undefined;

/** Launchers that start the kubelet as a child (in a container, or wrapped), never as MainPID. */
const LAUNCHERS = new Set([
  'docker',
  'podman',
  'rkt',
  'nerdctl',
  'ctr',
  'systemd-inhibit',
  'kubelet-wrapper',
]);

export function kubeletHealth(model: NodeModel): KubeletHealth {
  const { kubelet, facts } = model;
  const s = kubelet.settings;
  const notes: string[] = [];
  const healthzPort = tcpPort(s?.healthzPort.value) ?? 10248;
  const healthzUrl =
    healthzPort > 0
      ? `http://${probeAddress(s?.healthzBindAddress.value ?? '127.0.0.1')}:${healthzPort}/healthz`
      : null;
  if (!healthzUrl)
    notes.push(
      `healthzPort is 0 (${s?.healthzPort.key ?? 'healthzPort'} in ${s?.healthzPort.source ?? 'the config'}): the kubelet has no healthz server; prove health on its API port instead`,
    );
  const address = probeAddress(s?.address.value ?? '0.0.0.0');
  const readOnly = tcpPort(s?.readOnlyPort.value) ?? 0;

  // MainPID: the facts say it when the kubelet runs (systemctl show MainPID vs the process found).
  const mainPid = Number(facts.units.get('kubelet')?.show['MainPID'] ?? '0');
  const launcher = posix.basename(kubelet.unitArgv[0]?.text ?? '');
  const mainPidIsKubelet =
    kubelet.process && mainPid > 0 ? kubelet.process.pid === mainPid : !LAUNCHERS.has(launcher);
  if (!mainPidIsKubelet)
    notes.push(
      kubelet.process && mainPid > 0
        ? `kubelet.service's MainPID ${mainPid} is not the kubelet (pid ${kubelet.process.pid}): it runs it through ${launcher || 'another program'}`
        : `kubelet.service starts the kubelet through ${launcher}: its MainPID is not the kubelet`,
    );
  // The flags that tell this kubelet apart: its --config (or --config-dir), else its whole command.
  const marks = kubelet.flags
    .filter((f) => f.name === 'config' || f.name === 'config-dir')
    .flatMap((f) => {
      const word = kubelet.argv[f.index]?.text ?? '';
      return word.includes('=') ? [word] : [word, kubelet.argv[f.index + 1]?.text ?? ''];
    })
    .filter(Boolean);
  return {
    healthzUrl,
    securePort: { address, port: tcpPort(s?.port.value) || 10250 },
    readOnlyPort: readOnly > 0 ? { address, port: readOnly } : null,
    mainPidIsKubelet,
    process: { comm: 'kubelet', argvIncludes: marks },
    notes,
  };
}
