/**
 * The one remote command that gathers every fact an audit or plan needs from a node.
 *
 * POSIX sh + coreutils + awk only. It writes nothing (no temp files: everything is piped), never
 * reads its own stdin (the script travels as an argument), bounds every file it prints, and keeps
 * going past missing files and permission errors. Private keys are only stat'ed and, when openssl
 * exists, compared with their certificate on the node: their bytes never leave it.
 *
 * Output is line-framed, every free-form field base64-encoded (see src/facts/parse.ts):
 *   KM1 BEGIN
 *   KM PROC <pid> <b64 comm> <b64 cmdline (NUL-separated)> <b64 cwd>
 *   KM UNIT <name> <b64 `systemctl show`> <b64 `systemctl cat`>
 *   KM FILE <b64 path> ok <size> <mode> <uid> <gid>   followed by base64 lines and `KM END`
 *   KM FILE <b64 path> missing|unreadable|dir|toolarge
 *   KM STAT <b64 path> ok <size> <mode> <uid> <gid> | missing | unreadable
 *   KM LIST <b64 dir> <b64 newline-separated entry names> | KM LIST <b64 dir> missing
 *   KM PAIR <b64 cert> <b64 key> match|mismatch|badcert|badkey|unreadable|noopenssl
 *   KM TOOL <name> yes|no
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
  return `exec </dev/null 2>/dev/null
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
LC_ALL=C
export PATH LC_ALL
MAX=${max}
NL='
'
SEEN=
b64() { x=$(base64 | tr -d '\\n'); [ -n "$x" ] && printf '%s' "$x" || printf '%s' -; }
seen() { case "$NL$SEEN$NL" in *"$NL$1$NL"*) return 0;; esac; SEEN="$SEEN$NL$1"; return 1; }
emit_file() {
  [ -n "$1" ] || return 0
  seen "F$1" && return 0
  pb=$(printf '%s' "$1" | b64)
  if [ -d "$1" ]; then echo "KM FILE $pb dir"; return 0; fi
  if [ ! -e "$1" ]; then echo "KM FILE $pb missing"; return 0; fi
  if [ ! -r "$1" ]; then echo "KM FILE $pb unreadable"; return 0; fi
  st=$(stat -L -c '%s %a %u %g' "$1")
  echo "KM FILE $pb ok $st"
  head -c "$MAX" "$1" | base64
  echo "KM END"
}
emit_stat() {
  [ -n "$1" ] || return 0
  seen "S$1" && return 0
  pb=$(printf '%s' "$1" | b64)
  if [ ! -e "$1" ]; then echo "KM STAT $pb missing"; return 0; fi
  st=$(stat -L -c '%s %a %u %g' "$1")
  if [ -r "$1" ]; then echo "KM STAT $pb ok $st"; else echo "KM STAT $pb unreadable $st"; fi
}
emit_list() {
  seen "L$1" && return 0
  pb=$(printf '%s' "$1" | b64)
  if [ -d "$1" ]; then echo "KM LIST $pb $(ls -1A "$1" | b64)"; else echo "KM LIST $pb missing"; fi
}
pair() {
  [ -n "$1" ] && [ -n "$2" ] || return 0
  seen "P$1|$2" && return 0
  if ! command -v openssl >/dev/null; then r=noopenssl
  elif [ ! -r "$1" ] || [ ! -r "$2" ]; then r=unreadable
  else
    a=$(openssl x509 -noout -pubkey -in "$1")
    b=$(openssl pkey -pubout -passin pass: -in "$2")
    if [ -z "$a" ]; then r=badcert; elif [ -z "$b" ]; then r=badkey; elif [ "$a" = "$b" ]; then r=match; else r=mismatch; fi
  fi
  echo "KM PAIR $(printf '%s' "$1" | b64) $(printf '%s' "$2" | b64) $r"
}
${VALUES_FUNCTION}
echo "KM1 BEGIN"
for t in openssl base64 systemctl awk stat; do
  if command -v "$t" >/dev/null; then echo "KM TOOL $t yes"; else echo "KM TOOL $t no"; fi
done
echo "KM WHOAMI $(id -u)"
ARGS=
for d in /proc/[0-9]*; do
  c=$(cat "$d/comm") || continue
  case "$c" in
    kubelet|kube-apiserver|k3s|k3s-server|k3s-agent|rke2|kubelite|hyperkube) ;;
    *) continue ;;
  esac
  pid=\${d#/proc/}
  echo "KM PROC $pid $(printf '%s' "$c" | b64) $(b64 < "$d/cmdline") $(readlink "$d/cwd" | b64)"
  ARGS="$ARGS$NL$(tr '\\000' '\\n' < "$d/cmdline")"
done
UNITS=
for u in kubelet kube-apiserver; do
  command -v systemctl >/dev/null || break
  show=$(systemctl show "$u.service" -p LoadState -p ActiveState -p SubState -p MainPID -p NRestarts -p FragmentPath -p DropInPaths -p EnvironmentFiles -p Environment -p ExecMainStartTimestamp)
  cat=$(systemctl cat "$u.service" | head -c "$MAX")
  echo "KM UNIT $u $(printf '%s' "$show" | b64) $(printf '%s' "$cat" | b64)"
  UNITS="$UNITS$NL$cat"
  for f in $(printf '%s\\n' "$show" | sed -n 's/^EnvironmentFiles=//p' | tr ' ' '\\n' | grep '^/'); do emit_file "$f"; done
done
for f in ${shellWords(WELL_KNOWN_KUBELET_FILES)} ${shellWords(LAYOUT_FILES)}; do emit_file "$f"; done
for f in ${shellWords(LAYOUT_MARKERS)}; do emit_stat "$f"; done
ENVTEXT=$(cat ${shellWords(WELL_KNOWN_KUBELET_FILES.filter((f) => /env|default|sysconfig|environment/.test(f)))})
V1=$(printf '%s\\n%s\\n%s\\n' "$ARGS" "$UNITS" "$ENVTEXT" | values)
CONFIGS=
for p in $(printf '%s\\n' "$V1" | awk -F '\\t' '$1=="--config"{print $2}'); do emit_file "$p"; CONFIGS="$CONFIGS$NL$(head -c "$MAX" "$p")"; done
for p in $(printf '%s\\n' "$V1" | awk -F '\\t' '$1=="--config-dir"{print $2}'); do
  emit_list "$p"
  for f in $(find "$p" -name '*.conf' -type f | sort); do emit_file "$f"; CONFIGS="$CONFIGS$NL$(head -c "$MAX" "$f")"; done
done
for f in ${shellWords(WELL_KNOWN_KUBELET_FILES)}; do [ -r "$f" ] && CONFIGS="$CONFIGS$NL$(head -c "$MAX" "$f")"; done
V2=$(printf '%s\\n%s\\n' "$V1" "$(printf '%s\\n' "$CONFIGS" | values)")
MANIFESTS=
for dir in ${DEFAULT_STATIC_POD_DIR} $(printf '%s\\n' "$V2" | awk -F '\\t' '$1=="staticpodpath"||$1=="--pod-manifest-path"{print $2}'); do
  emit_list "$dir"
  [ -d "$dir" ] || continue
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    if grep -q 'kube-apiserver' "$f"; then emit_file "$f"; MANIFESTS="$MANIFESTS$NL$(head -c "$MAX" "$f")"; fi
  done
done
V3=$(printf '%s\\n%s\\n' "$V2" "$(printf '%s\\n' "$MANIFESTS" | values)")
for p in $(printf '%s\\n' "$V3" | awk -F '\\t' '$1=="clientcafile"||$1=="--client-ca-file"||$1=="--kubelet-client-certificate"||$1=="--kubelet-certificate-authority"||$1=="--tls-cert-file"||$1=="tlscertfile"{print $2}' | grep '^/'); do emit_file "$p"; done
for p in ${shellWords(opts.extraFiles ?? [])}; do emit_file "$p"; done
KEYS=$(printf '%s\\n' "$V3" | awk -F '\\t' '$1=="--kubelet-client-key"{print $2}')
CERTS=$(printf '%s\\n' "$V3" | awk -F '\\t' '$1=="--kubelet-client-certificate"{print $2}')
for k in $KEYS ${shellWords(opts.extraKeys ?? [])}; do emit_stat "$k"; done
for c in $CERTS; do for k in $KEYS; do pair "$c" "$k"; done; done
${extraPairs}
echo "KM1 DONE"
`;
}
