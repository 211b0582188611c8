/**
 * The one remote command that gathers every fact an audit or plan needs from a node.
 *
 * POSIX sh + coreutils + awk only. It writes nothing (no temp files: everything is piped), never
 * reads its own stdin (the script travels as an argument), bounds every file it prints, and keeps
 * going past missing files and permission errors. Private keys are only stat'ed and, when openssl
 * exists, compared with their certificate on the node: their bytes never leave it.
 *
 * Output is line-framed; a path is always the last field, raw (a path with a newline in it is not
 * supported); free-form text is base64 (see src/facts/parse.ts):
 *   KM1 BEGIN
 *   KM PROC <pid> <comm> <b64 cmdline (NUL-separated)> <cwd>
 *   KM UNIT kubelet <b64 `systemctl show`> <b64 `systemctl cat`>
 *   KM FILE ok <size> <mode> <uid> <gid> <path>   then base64 lines and `KM END`
 *   KM FILE missing|unreadable|dir <path>
 *   KM STAT ok|unreadable <size> <mode> <uid> <gid> <path> | KM STAT missing <path>
 *   KM LIST ok <dir>   then one entry name a line and `KM END` | KM LIST missing <dir>
 *   KM PAIR match|mismatch|badcert|badkey|unreadable|noopenssl <cert>\t<key>
 *   KM TOOL <name> yes|no
 *   KM WHOAMI <uid>
 *   KM1 DONE
 */

export interface GatherOptions {
  /** Public files (certificates, CA bundles) to fetch besides the ones the node's settings point at. */
  extraFiles?: readonly string[];
  /** Private keys to stat (never read) besides the ones the node's settings point at. */
  extraKeys?: readonly string[];
  /** cert/key pairs to compare on the node besides the apiserver's own. */
  extraPairs?: readonly (readonly [cert: string, key: string])[];
  /** Upper bound for each file printed, in bytes. */
  maxFileBytes?: number;
}

/** Kubelet config files that common layouts use, read even when no process or unit points at them. */
export const WELL_KNOWN_KUBELET_FILES = [
  '/var/lib/kubelet/config.yaml',
  '/etc/kubernetes/kubelet/kubelet-config.json',
  '/etc/kubernetes/kubelet/config.json',
  '/etc/kubernetes/kubelet-config.yaml',
  '/var/lib/kubelet/kubelet.conf',
  '/var/lib/kubelet/kubeadm-flags.env',
  '/etc/default/kubelet',
  '/etc/sysconfig/kubelet',
  '/etc/eks/kubelet/environment',
  '/etc/kubernetes/kubelet.env',
] as const;

/** Small public files that help identify a layout. */
export const LAYOUT_FILES = ['/etc/os-release', '/etc/eks/release'] as const;

/**
 * Files whose mere existence identifies a layout. Only stat'ed: some are large binaries, and
 * kubeconfigs such as admin.conf can embed private keys.
 */
export const LAYOUT_MARKERS = [
  '/etc/eks/bootstrap.sh',
  '/usr/bin/nodeadm',
  '/etc/rancher/k3s/config.yaml',
  '/etc/rancher/rke2/config.yaml',
  '/usr/local/bin/k3s',
  '/usr/local/bin/rke2',
  '/etc/kubernetes/admin.conf',
  '/etc/kubernetes/pki/ca.key',
  '/etc/kubernetes/ssl/ca.key',
] as const;

const DEFAULT_STATIC_POD_DIR = '/etc/kubernetes/manifests';

function shellWords(paths: readonly string[]): string {
  return paths.map((p) => `'${p.replaceAll("'", `'\\''`)}'`).join(' ');
}

/**
 * sh function `values`: reads text on stdin, prints "key<TAB>value" for the settings kubemend follows.
 * Exported for tests; the text is part of the gather script.
 */
export const VALUES_FUNCTION = `# Values of the settings we follow, found in any text: --flag=v, --flag v, key: v, "key": "v".
# Prints "key<TAB>value" lines; keys are matched case-insensitively for config fields because the
# wrong-case spelling (clientCaFile) is itself a finding.
values() {
  tr '\\000' '\\n' | awk '
    BEGIN { want["--config"]=1; want["--config-dir"]=1; want["--pod-manifest-path"]=1; want["--client-ca-file"]=1;
      want["--kubelet-client-certificate"]=1; want["--kubelet-client-key"]=1; want["--kubelet-certificate-authority"]=1;
      want["--tls-cert-file"]=1; want["staticpodpath"]=1; want["clientcafile"]=1; want["tlscertfile"]=1 }
    { gsub(/[\\t\\r "\\047=,\\\\{}\\[\\]]+/, " "); gsub(/: /, " "); gsub(/:$/, "");
      n = split($0, w, " ");
      for (i = 1; i <= n; i++) { k = w[i]; lk = tolower(k); sub(/:$/, "", lk);
        if (k == "-" || k == "") continue;
        if (pending != "") { if (k !~ /^-/) print pending "\\t" k; pending = ""; continue }
        if (lk in want) pending = lk } }'
}`;

export function gatherScript(opts: GatherOptions = {}): string {
  const max = opts.maxFileBytes ?? 262_144;
  const extraPairs = (opts.extraPairs ?? []).map(([c, k]) => `pair ${shellWords([c, k])}`).join('\n');
  // Forks are the cost here (a busy control plane runs hundreds of processes and the script runs on
  // many nodes at once), so lists are walked with shell builtins and missing files cost nothing.
  return `exec </dev/null 2>/dev/null
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
LC_ALL=C
export PATH LC_ALL
MAX=${max}
NL='
'
TAB='	'
IFS=$NL
SEEN=
seen() { case "$NL$SEEN$NL" in *"$NL$1$NL"*) return 0;; esac; SEEN="$SEEN$NL$1"; return 1; }
emit_file() {
  [ -n "$1" ] || return 0
  seen "F$1" && return 0
  if [ -d "$1" ]; then echo "KM FILE dir $1"; return 0; fi
  if [ ! -e "$1" ]; then echo "KM FILE missing $1"; return 0; fi
  if [ ! -r "$1" ]; then echo "KM FILE unreadable $1"; return 0; fi
  printf 'KM FILE ok '; stat -L -c '%s %a %u %g %n' -- "$1"
  head -c "$MAX" -- "$1" | base64
  echo "KM END"
  READ="$READ$NL$1"
}
emit_stat() {
  [ -n "$1" ] || return 0
  seen "S$1" && return 0
  if [ ! -e "$1" ]; then echo "KM STAT missing $1"; return 0; fi
  if [ -r "$1" ]; then printf 'KM STAT ok '; else printf 'KM STAT unreadable '; fi
  stat -L -c '%s %a %u %g %n' -- "$1"
}
emit_list() {
  seen "L$1" && return 0
  if [ -d "$1" ]; then echo "KM LIST ok $1"; ls -1A -- "$1"; echo "KM END"; else echo "KM LIST missing $1"; fi
}
pair() {
  [ -n "$1" ] && [ -n "$2" ] || return 0
  seen "P$1$TAB$2" && return 0
  if [ -z "$OPENSSL" ]; then r=noopenssl
  elif [ ! -r "$1" ] || [ ! -r "$2" ]; then r=unreadable
  else
    a=$(openssl x509 -noout -pubkey -in "$1")
    b=$(openssl pkey -pubout -passin pass: -in "$2")
    if [ -z "$a" ]; then r=badcert; elif [ -z "$b" ]; then r=badkey; elif [ "$a" = "$b" ]; then r=match; else r=mismatch; fi
  fi
  printf 'KM PAIR %s %s\\t%s\\n' "$r" "$1" "$2"
}
# pick KEY|KEY…: the values found for those keys, newline-separated, into OUT (no subshell).
pick() {
  OUT=
  set -f
  for l in $V; do
    case "|$1|" in *"|\${l%%"$TAB"*}|"*) OUT="$OUT$NL\${l#*"$TAB"}" ;; esac
  done
  set +f
}
${VALUES_FUNCTION}
echo "KM1 BEGIN"
OPENSSL=
for t in openssl base64 systemctl awk stat; do
  if command -v "$t" >/dev/null; then echo "KM TOOL $t yes"; [ "$t" = openssl ] && OPENSSL=1; else echo "KM TOOL $t no"; fi
done
echo "KM WHOAMI $(id -u)"
ARGS=
for d in /proc/[0-9]*; do
  { read -r c < "$d/comm"; } 2>/dev/null || continue
  case "$c" in
    kubelet|kube-apiserver|k3s|k3s-server|k3s-agent|rke2|kubelite|hyperkube) ;;
    *) continue ;;
  esac
  echo "KM PROC \${d#/proc/} $c $(base64 < "$d/cmdline" | tr -d '\\n') $(readlink "$d/cwd")"
  ARGS="$ARGS$NL$(tr '\\000' '\\n' < "$d/cmdline")"
done
UNITS=
if command -v systemctl >/dev/null; then
  show=$(systemctl show kubelet.service -p LoadState -p ActiveState -p SubState -p MainPID -p NRestarts -p FragmentPath -p DropInPaths -p EnvironmentFiles -p Environment -p ExecMainStartTimestamp)
  UNITS=$(systemctl cat kubelet.service | head -c "$MAX")
  echo "KM UNIT kubelet $(printf '%s' "$show" | base64 | tr -d '\\n') $(printf '%s' "$UNITS" | base64 | tr -d '\\n')"
  for l in $show; do
    case "$l" in EnvironmentFiles=/*) f=\${l#EnvironmentFiles=}; emit_file "\${f%% (*}" ;; esac
  done
fi
READ=
for f in ${shellWords([...WELL_KNOWN_KUBELET_FILES, ...LAYOUT_FILES])}; do emit_file "$f"; done
for f in ${shellWords(LAYOUT_MARKERS)}; do emit_stat "$f"; done
V=$( { printf '%s\\n' "$ARGS" "$UNITS"; cat -- $READ; } | values)
pick '--config'; CONFIGS=$OUT
pick '--config-dir'; DIRS=$OUT
for p in $CONFIGS; do emit_file "$p"; done
for p in $DIRS; do
  emit_list "$p"
  [ -d "$p" ] || continue
  for f in $(find "$p" -name '*.conf' -type f | sort); do emit_file "$f"; CONFIGS="$CONFIGS$NL$f"; done
done
V="$V$NL$(cat -- $CONFIGS | values)"
pick 'staticpodpath|--pod-manifest-path'
MANIFESTS=
for dir in ${DEFAULT_STATIC_POD_DIR} $OUT; do
  emit_list "$dir"
  [ -d "$dir" ] || continue
  for f in $(grep -l 'kube-apiserver' -- "$dir"/*); do [ -f "$f" ] && emit_file "$f" && MANIFESTS="$MANIFESTS$NL$f"; done
done
V="$V$NL$(cat -- $MANIFESTS | values)"
pick 'clientcafile|--client-ca-file|--kubelet-client-certificate|--kubelet-certificate-authority|--tls-cert-file|tlscertfile'
for p in $OUT; do case "$p" in /*) emit_file "$p" ;; esac; done
for p in ${shellWords(opts.extraFiles ?? [])}; do emit_file "$p"; done
pick '--kubelet-client-key'; KEYS=$OUT
pick '--kubelet-client-certificate'; CERTS=$OUT
for k in $KEYS ${shellWords(opts.extraKeys ?? [])}; do emit_stat "$k"; done
for c in $CERTS; do for k in $KEYS; do pair "$c" "$k"; done; done
${extraPairs}
echo "KM1 DONE"
`;
}
