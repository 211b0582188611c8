#!/bin/sh
# The one remote command that gathers every fact an audit or plan needs from a node: read-only,
# POSIX sh + coreutils + awk. The output format and the reasons for the script's shape are in
# src/node/gather-script.ts. Every path it is asked about comes as an argument, never in its text.
# $1: the bound on each file printed, in bytes; then tagged arguments, one path each:
#   w:PATH a file to print if it exists     s:PATH a file to stat only (never read)
#   c:PATH a kubelet config file            d:DIR  a kubelet --config-dir
#   m:DIR  a static pod directory           f:PATH a public file (certificate, CA bundle)
#   k:PATH a private key to stat            p:CERT followed by q:KEY  a pair to compare on the node
# Lists are newline-separated and split unquoted on purpose: IFS is a newline and globbing is off.
# shellcheck disable=SC2086,SC2013,SC2044
exec </dev/null 2>/dev/null
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
LC_ALL=C
export PATH LC_ALL
MAX=$1
shift
NL='
'
TAB='	'
IFS=$NL
set -f
# The tagged arguments, each a path, into newline-separated lists.
XW='' XS='' XC='' XD='' XM='' XF='' XK='' XP='' pc=''
for a; do
  case $a in
    w:*) XW="$XW$NL${a#w:}" ;;
    s:*) XS="$XS$NL${a#s:}" ;;
    c:*) XC="$XC$NL${a#c:}" ;;
    d:*) XD="$XD$NL${a#d:}" ;;
    m:*) XM="$XM$NL${a#m:}" ;;
    f:*) XF="$XF$NL${a#f:}" ;;
    k:*) XK="$XK$NL${a#k:}" ;;
    p:*) pc=${a#p:} ;;
    q:*) XP="$XP$NL$pc$TAB${a#q:}" ;;
  esac
done
SEEN=
FILES=
NEW=
STATS=
seen() { case "$NL$SEEN$NL" in *"$NL$1$NL"*) return 0;; esac; SEEN="$SEEN$NL$1"; return 1; }
emit_file() {
  [ -n "$1" ] || return 0
  seen "F$1" && return 0
  if [ -d "$1" ]; then echo "KM FILE dir $1"
  elif [ ! -e "$1" ]; then echo "KM FILE missing $1"
  elif [ ! -f "$1" ] || [ ! -r "$1" ]; then echo "KM FILE unreadable $1"
  else FILES="$FILES$NL$1"; NEW="$NEW$NL$1"; fi
}
emit_stat() {
  [ -n "$1" ] || return 0
  seen "S$1" && return 0
  if [ -e "$1" ]; then STATS="$STATS$NL$1"; else echo "KM STAT missing $1"; fi
}
# glob DIR: the entries of DIR, dot files included, newline-separated, into ENTRIES.
glob() { set +f; set -- "$1"/* "$1"/.[!.]* "$1"/..?*; set -f; ENTRIES=; for e; do [ -e "$e" ] || [ -L "$e" ] && ENTRIES="$ENTRIES$NL$e"; done; }
emit_list() {
  seen "L$1" && return 0
  if [ -d "$1" ]; then echo "KM LIST ok $1"; glob "$1"; for e in $ENTRIES; do echo "${e##*/}"; done; echo "KM END"; else echo "KM LIST missing $1"; fi
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
  printf 'KM PAIR %s %s\t%s\n' "$r" "$1" "$2"
}
# kubeconfig_ca FILE: only the certificate-authority lines of a kubeconfig (the cluster CA, public),
# never the rest, which can hold client-key-data; a CA file it names is printed like any other.
kubeconfig_ca() {
  seen "K$1" && return 0
  [ -f "$1" ] && [ -r "$1" ] || return 0
  echo "KM KUBECONFIG $1"
  for l in $(awk '{ sub(/^[ \t"]+/, "") } /^certificate-authority(-data)?"?:/ {
      k = $1; sub(/"?:$/, "", k); v = $0; sub(/^[^:]*:[ \t]*/, "", v); gsub(/["\047,]/, "", v); print k " " v }' "$1"); do
    echo "$l"
    case "$l" in "certificate-authority /"*) emit_file "${l#certificate-authority }" ;; esac
  done
  echo "KM END"
}
# pick KEY|KEY…: the values found for those keys, newline-separated, into OUT (no subshell).
pick() {
  OUT=
  for l in $V; do
    case "|$1|" in *"|${l%%"$TAB"*}|"*) OUT="$OUT$NL${l#*"$TAB"}" ;; esac
  done
}
# abs PATH…: the absolute ones into OUT; each relative one is reported (KM REL), not read here.
abs() { OUT=; for p; do case "$p" in /*) OUT="$OUT$NL$p" ;; ?*) echo "KM REL $p" ;; esac; done; }
# Values of the settings we follow, found in any text: --flag=v, --flag v, key: v, "key": "v".
# A flag's "_" is its "-" (the kubelet's and kube-apiserver's flag parser normalises it).
# Keys are matched case-insensitively for config fields because the wrong-case spelling
# (clientCaFile) is itself a finding.
values() {
  m=0; [ "$1" = -m ] && { m=1; shift; }
  awk -v m="$m" -v max="$MAX" '
    function scan(line,   n, w, i, k, lk) {
      gsub(/[\t\r "\047=,\\{}\[\]]+/, " ", line); gsub(/: /, " ", line); gsub(/:$/, "", line)
      n = split(line, w, " ")
      for (i = 1; i <= n; i++) { k = w[i]; lk = tolower(k); sub(/:$/, "", lk); if (lk ~ /^--/) gsub(/_/, "-", lk)
        if (k == "-" || k == "") continue
        if (pending != "") { if (k !~ /^-/) print pending "\t" k; pending = ""; continue }
        if (lk in want) pending = lk } }
    BEGIN { want["--config"]=1; want["--config-dir"]=1; want["--pod-manifest-path"]=1; want["--client-ca-file"]=1
      want["--kubelet-client-certificate"]=1; want["--kubelet-client-key"]=1; want["--kubelet-certificate-authority"]=1
      want["--tls-cert-file"]=1; want["staticpodpath"]=1; want["clientcafile"]=1; want["tlscertfile"]=1; want["--kubeconfig"]=1
      for (a = 1; a < ARGC; a++) {
        f = ARGV[a]; n = 0; hit = 0; bytes = 0
        while (bytes <= max && (getline line < f) > 0) { lines[++n] = line; bytes += length(line) + 1; if (line ~ /kube-apiserver/) hit = 1 }
        close(f)
        if (m && !hit) continue
        if (m) print "M\t" f
        pending = ""
        for (j = 1; j <= n; j++) scan(lines[j])
      }
      ARGC = 1; pending = "" }
    { scan($0) }' "$@"
}
echo "KM1 BEGIN"
OPENSSL=
for t in openssl base64 systemctl awk stat sha256sum flock timeout curl wget; do
  if command -v "$t" >/dev/null; then echo "KM TOOL $t yes"; [ "$t" = openssl ] && OPENSSL=1; else echo "KM TOOL $t no"; fi
done
U=
while read -r k r e rest; do [ "$k" = Uid: ] && { U=$e; break; }; done < /proc/self/status
[ -n "$U" ] || U=$(id -u)
echo "KM WHOAMI $U"
ARGS=
# Only the node's own processes (proc-identity.sh); the others of those names are named, no more.
# shellcheck source=src/node/scripts/lib/proc-identity.sh
. /kubemend/lib/proc-identity.sh
kube_procs kubelet kube-apiserver k3s k3s-server k3s-agent rke2 kubelite hyperkube k0s
for t in $KUBE_PROCS; do
  d=$KUBE_PROC/${t%%:*}
  echo "KM PROC ${t%%:*} ${t#*:} $(readlink "$d/cwd")"
  base64 < "$d/cmdline"
  echo "KM END"
  ARGS="$ARGS$NL$(tr '\000' '\n' < "$d/cmdline")"
done
# At most 32 named, then a count: a user who starts many cannot make the output large.
n=0
for t in $KUBE_IGNORED; do
  n=$((n + 1))
  [ "$n" -le 32 ] || continue
  IFS=:; set -- $t; IFS=$NL
  echo "KM IGNORED $1 $2 $3 $4 $5"
done
[ "$n" -le 32 ] || echo "KM IGNORED-MORE $((n - 32))"
if command -v systemctl >/dev/null; then
  show=$(systemctl show kubelet.service -p LoadState -p ActiveState -p SubState -p MainPID -p NRestarts -p FragmentPath -p DropInPaths -p EnvironmentFiles -p Environment -p ExecMainStartTimestamp)
  echo "KM UNIT kubelet"
  printf '%s\n' "$show"
  echo "KM END"
  for l in $show; do
    case "$l" in
      FragmentPath=/*) emit_file "${l#FragmentPath=}" ;;
      DropInPaths=/*) IFS=' '; for f in ${l#DropInPaths=}; do emit_file "$f"; done; IFS=$NL ;;
      EnvironmentFiles=/*) f=${l#EnvironmentFiles=}; emit_file "${f%% (*}" ;;
    esac
  done
fi
for f in $XW; do emit_file "$f"; done
for f in $XS; do emit_stat "$f"; done
V=$(printf '%s\n' "$ARGS" | values $NEW)
NEW=
pick '--config'; abs $OUT $XC; CONFIGS=$OUT
pick '--config-dir'; abs $OUT $XD; DIRS=$OUT
for p in $CONFIGS; do emit_file "$p"; done
for p in $DIRS; do
  emit_list "$p"
  [ -d "$p" ] || continue
  for f in $(find "$p" -name '*.conf' ! -type d); do emit_file "$f"; done
done
V="$V$NL$(values $NEW)"
NEW=
pick 'staticpodpath|--pod-manifest-path'; abs $OUT $XM
CANDIDATES=
for dir in /etc/kubernetes/manifests $OUT; do
  emit_list "$dir"
  # staticPodPath may name a single manifest file, which the kubelet runs as is.
  [ -d "$dir" ] || { [ -f "$dir" ] && CANDIDATES="$CANDIDATES$NL$dir"; continue; }
  seen "M$dir" && continue
  glob "$dir"
  for e in $ENTRIES; do [ -f "$e" ] && CANDIDATES="$CANDIDATES$NL$e"; done
done
V="$V$NL$(values -m $CANDIDATES)"
pick 'M'
for f in $OUT; do emit_file "$f"; done
pick 'clientcafile|--client-ca-file|--kubelet-client-certificate|--kubelet-certificate-authority|--tls-cert-file|tlscertfile'
abs $OUT
for p in $OUT $XF; do emit_file "$p"; done
pick '--kubeconfig'; abs $OUT
for k in $OUT; do kubeconfig_ca "$k"; done
pick '--kubelet-client-key'; KEYS=$OUT
pick '--kubelet-client-certificate'; CERTS=$OUT
for k in $KEYS $XK; do emit_stat "$k"; done
for c in $CERTS; do for k in $KEYS; do pair "$c" "$k"; done; done
for l in $XP; do pair "${l%%"$TAB"*}" "${l#*"$TAB"}"; done
if [ -n "$STATS" ]; then
  for l in $(stat -L -c '%s %a %u %g %n' -- $STATS); do
    p=${l#* * * * }
    if [ -r "$p" ]; then echo "KM STAT ok $l"; else echo "KM STAT unreadable $l"; fi
  done
fi
if [ -n "$FILES" ]; then
  echo "KM FILES"
  SMALL=
  BIG=
  for l in $(stat -L -c '%s %a %u %g %n' -- $FILES); do
    echo "$l"
    if [ "${l%% *}" -le "$MAX" ]; then SMALL="$SMALL$NL${l#* * * * }"; else BIG="$BIG$NL${l#* * * * }"; fi
  done
  echo "KM DATA"
  [ -n "$SMALL" ] && cat -- $SMALL | base64
  echo "KM END"
  for f in $BIG; do echo "KM BIG $f"; head -c "$MAX" -- "$f" | base64; echo "KM END"; done
fi
echo "KM1 DONE"
