#!/bin/sh
# The node's running kube-apiserver processes, as proc-identity.sh defines them ("PROC <pid>
# <base64 of its NUL-separated argv>"; a process of that name that is not the node's is left
# out), the candidates of a tie ("TIE <pid> <base64 argv>": more than one root kube-apiserver of the
# same rank, none of them is the node's; a static pod's restart can show the old and the new one for
# a moment, so the health gate waits, where audit and plan name it an error), and the /livez
# answer ("Livez=<body>", with curl followed by " HTTP<code>"; "unchecked" without curl or wget).
# What the port answers is the node's to choose: one line only, at most 64 bytes of it (the end,
# where curl puts the status), CR and LF removed, printed after the PROC lines with printf.
# $1: the /livez URL
# shellcheck source=src/node/scripts/lib/proc-identity.sh
. /kubemend/lib/proc-identity.sh
kube_procs kube-apiserver
n=0
for t in $KUBE_PROCS; do
  n=$((n + 1))
  [ "$n" -le 32 ] || break
  echo "PROC ${t%%:*} $(head -c 65536 "$KUBE_PROC/${t%%:*}/cmdline" | base64 | tr -d '\n')"
done
n=0
for t in $KUBE_IGNORED; do
  case $t in *:ambiguous) ;; *) continue ;; esac
  n=$((n + 1))
  [ "$n" -le 32 ] || break
  echo "TIE ${t%%:*} $(head -c 65536 "$KUBE_PROC/${t%%:*}/cmdline" | base64 | tr -d '\n')"
done
if command -v curl >/dev/null; then
  printf 'Livez=%s\n' "$(curl -gsk -m 2 -w ' HTTP%{http_code}' -- "$1" 2>/dev/null | tail -c 64 | tr -d '\r\n')"
elif command -v wget >/dev/null; then
  printf 'Livez=%s\n' "$(wget -qO- -T 2 -t 1 --no-check-certificate -- "$1" 2>/dev/null | head -c 64 | tr -d '\r\n')"
else
  echo Livez=unchecked
fi
