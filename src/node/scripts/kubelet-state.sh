#!/bin/sh
# The kubelet's systemd state, its health answers and, when asked, its processes, as lines:
# "Key=value", and "PROC <pid> <base64 of its NUL-separated argv>".
# $1: the healthz URL ('' when the kubelet serves none: healthzPort 0)
# $2: the URL of /healthz on the kubelet's secure port, asked over TLS without credentials: any
#     HTTP status proves it serves ("Secure=<code>", 000 = no answer; '' = not asked)
# $3: the process name (comm) of the kubelet to list ('' = none: kubelet.service's MainPID is it)
systemctl show kubelet -p MainPID -p NRestarts -p ActiveState -p SubState
if [ -z "$1" ]; then
  echo Healthz=unchecked
elif command -v curl >/dev/null; then
  echo "Healthz=$(curl -gsf -m 2 -- "$1" 2>/dev/null)"
elif command -v wget >/dev/null; then
  echo "Healthz=$(wget -qO- -T 2 -- "$1" 2>/dev/null)"
else
  echo Healthz=unchecked
fi
if [ -z "$2" ]; then
  :
elif command -v curl >/dev/null; then
  echo "Secure=$(curl -gsk -m 2 -o /dev/null -w '%{http_code}' -- "$2" 2>/dev/null)"
elif command -v wget >/dev/null; then
  # wget -S prints the status line ("  HTTP/1.1 401 Unauthorized") among the headers on stderr.
  code=$(wget -S -O /dev/null -T 2 --no-check-certificate -- "$2" 2>&1 |
    sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | tail -n 1)
  echo "Secure=${code:-000}"
else
  echo Secure=unchecked
fi
if [ -n "$3" ]; then
  for d in /proc/[0-9]*; do
    { read -r c < "$d/comm"; } 2>/dev/null || continue
    [ "$c" = "$3" ] || continue
    echo "PROC ${d#/proc/} $(base64 < "$d/cmdline" | tr -d '\n')"
  done
fi
