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
  'authentication-token-webhook',
  'enable-controller-attach-detach',
  'enable-load-reader',
  'fail-cgroupv1',
  'cpu-cfs-quota',
  'seccomp-default',
  'keep-terminated-pod-volumes',
  'containerized',
  'localhost-kubelet',
  'add-dir-header',
  'skip-headers',
  'skip-log-headers',
  'one-output',
  'log-flush-frequency-enabled',
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
 * A flag's name as the kubelet's and kube-apiserver's parser knows it: both set pflag's normaliser
 * to component-base's `cliflag.WordSepNormalizeFunc`, which turns every `_` into `-`, so
 * `--anonymous_auth=true` is `--anonymous-auth=true` to them (cmd/kubelet/app/server.go,
 * staging/src/k8s.io/component-base/cli/run.go).
 */
export const normalizeFlagName = (name: string): string => name.replaceAll('_', '-');

/**
 * One argv word read as a flag: `--name=value` gives both, `--name` only the name; anything else
 * (not starting with a dash) gives undefined. The name is normalised.
 */
export function flagWord(word: string): { name: string; value?: string } | undefined {
  if (!word.startsWith('-') || word === '-' || word === '--') return undefined;
  const body = word.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq >= 0
    ? { name: normalizeFlagName(body.slice(0, eq)), value: body.slice(eq + 1) }
    : { name: normalizeFlagName(body) };
}

/** A bool flag's value as Go's strconv.ParseBool reads it (pflag's boolValue.Set); else undefined. */
export function goBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/**
 * An int flag's value as Go's strconv.ParseInt(s, 0, 64) reads it (pflag's intValue.Set, base 0):
 * a sign, then 0x/0o/0b prefixes or a leading 0 for octal, underscores only after a prefix.
 */
export function goInt(value: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9]*)$/.exec(value);
  if (!m) return undefined;
  const [, sign, digits = ''] = m;
  const prefixed = /^0[xXoObB]/.test(digits) || (digits.length > 1 && digits.startsWith('0'));
  if (digits.includes('_') && (!prefixed || /__|_$|^0[xXoObB]?_?$/.test(digits))) return undefined;
  const clean = digits.replaceAll('_', '');
  const n = /^0[xX]/.test(clean)
    ? parseInt(clean.slice(2), 16)
    : /^0[oO]/.test(clean)
      ? parseInt(clean.slice(2), 8)
      : /^0[bB]/.test(clean)
        ? parseInt(clean.slice(2), 2)
        : clean.length > 1 && clean.startsWith('0')
          ? parseInt(clean.slice(1), 8)
          : parseInt(clean, 10);
  if (!Number.isSafeInteger(n)) return undefined;
  return sign === '-' ? -n : n;
}

/**
 * Reads `--name=value`, `--name value` and boolean `--name` flags from argv, names normalised. argv[0] (the binary)
 * and anything before the first flag (a launcher script, a hyperkube sub-command) are skipped.
 * Every occurrence is returned; use lastFlag for the value that wins.
 */
export function parseFlags(argv: readonly string[]): Flag[] {
  const flags: Flag[] = [];
  for (let i = 1; i < argv.length; i++) {
    const word = flagWord(argv[i] ?? '');
    if (!word) continue;
    if (word.value !== undefined) {
      flags.push({ name: word.name, value: word.value, index: i });
      continue;
    }
    const body = word.name;
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

/**
 * Whether pflag takes the word after `word` as its value whatever that word looks like: a flag
 * written without `=` that is not a bool (`--provider-id --anonymous-auth=false` gives
 * --provider-id the value "--anonymous-auth=false", as happens when `--provider-id $ID` meets an
 * empty $ID). kubemend's own reader does not follow it there, so a setting right after such a word
 * is not read as set.
 */
export function swallowsNext(word: string | undefined): boolean {
  const w = word === undefined ? undefined : flagWord(word);
  return w !== undefined && w.value === undefined && !BOOLEAN_FLAGS.has(w.name);
}
