#!/bin/sh
# Rewrites a run's metadata.json (stdin), after issuing certificates, to record their sha256.
# $1: run id
case $1 in '' | */* | .*) echo "KMFAIL usage bad run id" >&2; exit 1 ;; esac
m=/var/lib/kubemend/backups/$1/metadata.json
umask 077
cat > "$m.tmp" && mv -f -- "$m.tmp" "$m" && sync || { echo "KMFAIL write cannot write $m" >&2; exit 1; }
