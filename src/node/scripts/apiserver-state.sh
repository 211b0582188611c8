#!/bin/sh
# Running kube-apiserver processes ("PROC <pid> <base64 of its NUL-separated argv>") and the /livez
# answer ("Livez=<body>", with curl followed by " HTTP<code>"; "unchecked" without curl or wget).
# What the port answers is the node's to choose: one line only, at most 64 bytes of it (the end,
# where curl puts the status), CR and LF removed, printed after the PROC lines with printf.
# $1: the /livez URL
n=0
for d in /proc/[0-9]*; do
  { IFS= read -r c < "$d/comm"; } 2>/dev/null || continue
  [ "$c" = kube-apiserver ] || continue
  n=$((n + 1))
  [ "$n" -le 32 ] || break
  echo "PROC ${d#/proc/} $(head -c 65536 "$d/cmdline" | base64 | tr -d '\n')"
done
if command -v curl >/dev/null; then
  printf 'Livez=%s\n' "$(curl -gsk -m 2 -w ' HTTP%{http_code}' -- "$1" 2>/dev/null | tail -c 64 | tr -d '\r\n')"
elif command -v wget >/dev/null; then
  printf 'Livez=%s\n' "$(wget -qO- -T 2 -t 1 --no-check-certificate -- "$1" 2>/dev/null | head -c 64 | tr -d '\r\n')"
else
  echo Livez=unchecked
fi
