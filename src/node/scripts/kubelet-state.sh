#!/bin/sh
# The kubelet's systemd state, its health answers and, when asked, its processes, as lines:
# "Key=value", and "PROC <pid> <base64 of its NUL-separated argv>". What a port answers is the
# node's to choose, so it stays on its own line: at most 64 bytes, CR and LF removed, printed with
# printf (echo would turn a "\n" in it into a line of its own under dash).
# $1: the healthz URL ('' when the kubelet serves none: healthzPort 0)
# $2: the URL of /healthz on the kubelet's secure port, asked over TLS without credentials: any
#     HTTP status proves it serves ("Secure=<code>", 000 = no answer; '' = not asked)
# $3: the process name (comm) of the kubelet to list ('' = none: kubelet.service's MainPID is it)
systemctl show kubelet -p MainPID -p NRestarts -p ActiveState -p SubState
if [ -z "$1" ]; then
  echo Healthz=unchecked
elif command -v curl >/dev/null; then
  printf 'Healthz=%s\n' "$(curl -gsf -m 2 -- "$1" 2>/dev/null | head -c 64 | tr -d '\r\n')"
elif command -v wget >/dev/null; then
  printf 'Healthz=%s\n' "$(wget -qO- -T 2 -t 1 -- "$1" 2>/dev/null | head -c 64 | tr -d '\r\n')"
else
  echo Healthz=unchecked
fi
if [ -z "$2" ]; then
  :
elif command -v curl >/dev/null; then
  printf 'Secure=%s\n' "$(curl -gsk -m 2 -o /dev/null -w '%{http_code}' -- "$2" 2>/dev/null | tr -cd 0-9 | head -c 3)"
elif command -v wget >/dev/null; then
  # wget -S prints the status line ("  HTTP/1.1 401 Unauthorized") among the headers on stderr.
  code=$(wget -S -O /dev/null -T 2 -t 1 --no-check-certificate -- "$2" 2>&1 |
    sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | tail -n 1)
  printf 'Secure=%s\n' "${code:-000}"
else
  echo Secure=unchecked
fi
# Only the node's own kubelet (proc-identity.sh): root, in the unit that runs it. A process of
# another user, or outside that unit, that calls itself kubelet is not it.
# shellcheck source=src/node/scripts/lib/proc-identity.sh
. /kubemend/lib/proc-identity.sh
if [ -n "$3" ]; then
  kube_procs "$3"
  n=0
  for t in $KUBE_PROCS; do
    n=$((n + 1))
    [ "$n" -le 32 ] || break
    echo "PROC ${t%%:*} $(head -c 65536 "$KUBE_PROC/${t%%:*}/cmdline" | base64 | tr -d '\n')"
  done
fi
