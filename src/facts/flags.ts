/** Command-line flags as a Go program (pflag) would read them. */

export interface Flag {
  name: string;
  value: string;
  /** Index of the flag's token in the argv it was read from. */
  index: number;
}

/** Flags of the kubelet and kube-apiserver that take no separate value (`--x` alone means true). */
const BOOLEAN_FLAGS = new Set([
  'anonymous-auth',
  'fail-swap-on',
  'register-node',
  'register-schedulable',
  'rotate-certificates',
  'rotate-server-certificates',
  'serialize-image-pulls',
  'enable-server',
  'enable-debugging-handlers',
  'exit-on-lock-contention',
  'make-iptables-util-chains',
  'allow-privileged',
  'cgroups-per-qos',
  'protect-kernel-defaults',
  'kernel-memcg-notification',
  'require-kubeconfig',
  'enable-bootstrap-token-auth',
  'enable-aggregator-routing',
  'profiling',
  'logtostderr',
  'alsologtostderr',
  'help',
  'version',
  'v',
]);

/**
 * Reads `--name=value`, `--name value` and boolean `--name` flags from argv. argv[0] (the binary)
 * and anything before the first flag (a launcher script, a hyperkube sub-command) are skipped.
 * Every occurrence is returned; use lastFlag for the value that wins.
 */
export function parseFlags(argv: readonly string[]): Flag[] {
  const flags: Flag[] = [];
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (!token.startsWith('-') || token === '-' || token === '--') continue;
    const body = token.replace(/^--?/, '');
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.push({ name: body.slice(0, eq), value: body.slice(eq + 1), index: i });
      continue;
    }
    const next = argv[i + 1];
    if (!BOOLEAN_FLAGS.has(body) && next !== undefined && !next.startsWith('-')) {
      flags.push({ name: body, value: next, index: i });
      i++;
    } else {
      flags.push({ name: body, value: BOOLEAN_FLAGS.has(body) ? 'true' : '', index: i });
    }
  }
  return flags;
}

/** The value pflag keeps for a repeated scalar flag: the last one. */
export function lastFlag(flags: readonly Flag[], name: string): Flag | undefined {
  return flags.findLast((f) => f.name === name);
}
