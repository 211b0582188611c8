import type { Layout } from './layouts.js';
import { waitFor } from './procs.js';
import { sshBanner, sshRun } from './ssh.js';
import type { SshTarget } from './ssh.js';

export class NodeNotReadyError extends Error {
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(`${node}: ${message}`);
  }
}

const sh = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** A node-side poll loop: one SSH round trip instead of one per attempt. */
function pollScript(checks: string[], seconds: number): string {
  return [
    `end=$(( $(date +%s) + ${seconds} ))`,
    `until ${checks.join(' && ')}; do`,
    '  [ "$(date +%s)" -ge "$end" ] && exit 1',
    '  sleep 0.3',
    'done',
  ].join('\n');
}

/**
 * Ready = sshd answers with a banner, systemd finished booting (running, or degraded with the
 * failed units reported), and the layout's kubelet/apiserver answer their health endpoints.
 * Returns warnings (e.g. failed units) that do not make the node unusable.
 */
export async function waitNodeReady(
  node: string,
  target: SshTarget,
  layout: Layout,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const started = Date.now();
  const left = () => Math.max(1000, timeoutMs - (Date.now() - started));
  const banner = await waitFor(
    async () => {
      opts.signal?.throwIfAborted();
      return sshBanner(target.host, 1000);
    },
    left(),
    250,
  );
  if (!banner)
    throw new NodeNotReadyError(
      node,
      `sshd did not answer on ${target.host}:22 within ${timeoutMs / 1000} s`,
    );

  const seconds = Math.ceil(left() / 1000);
  const boot = await sshRun(target, `timeout ${seconds} systemctl is-system-running --wait`, {
    timeoutMs: left() + 5000,
  });
  const state = boot.stdout.trim();
  const warnings: string[] = [];
  if (state === 'degraded') {
    // Report which units failed and their last words: a lab image should boot clean.
    const failed = await sshRun(
      target,
      'for u in $(systemctl list-units --failed --plain --no-legend | cut -d" " -f1); do echo "$u:"; journalctl -b -u "$u" -n 3 --no-pager -o cat | sed "s/^/    /"; done',
    );
    warnings.push(`${node}: degraded, failed units:\n${failed.stdout.trimEnd()}`);
  } else if (state !== 'running') {
    throw new NodeNotReadyError(
      node,
      `systemd did not finish booting (is-system-running: ${state || boot.stderr.trim()})`,
    );
  }

  const checks = [
    ...(layout.runs.kubelet ? ['curl -sf -o /dev/null http://127.0.0.1:10248/healthz'] : []),
    ...(layout.runs.apiserver ? ['curl -skf -o /dev/null https://127.0.0.1:6443/livez'] : []),
  ];
  if (checks.length > 0) {
    const health = await sshRun(target, `sh -c ${sh(pollScript(checks, Math.ceil(left() / 1000)))}`, {
      timeoutMs: left() + 5000,
    });
    if (health.code !== 0) {
      const what = [
        layout.runs.kubelet && 'kubelet healthz (127.0.0.1:10248)',
        layout.runs.apiserver && 'kube-apiserver livez (127.0.0.1:6443)',
      ]
        .filter(Boolean)
        .join(' and ');
      // The kubelet's own last words say more than the console: bad config, missing CA, …
      const journal = await sshRun(target, 'journalctl -u kubelet -n 15 --no-pager -o cat');
      throw new NodeNotReadyError(
        node,
        `${what} did not answer within ${timeoutMs / 1000} s; journalctl -u kubelet:\n${journal.stdout.trimEnd()}`,
      );
    }
  }
  return warnings;
}
