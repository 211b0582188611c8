#!/bin/sh
# Rewrites a run's metadata.json (stdin), after issuing certificates, to record their sha256. The
# temporary file is mktemp's (an exclusive create), never a fixed name.
# $1: run id
case $1 in '' | */* | .*) echo "KMFAIL usage bad run id" >&2; exit 1 ;; esac
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
m=${KUBEMEND_STATE_DIR:?set by kubemend}/backups/$1/metadata.json
umask 077
t=$(mktemp -- "$m.XXXXXX") || { echo "KMFAIL write cannot create a temporary file beside $m" >&2; exit 1; }
cat > "$t" && { sync -- "$t" 2>/dev/null || sync; } && mv -f -- "$t" "$m" && sync || {
  rm -f -- "$t"
  echo "KMFAIL write cannot write $m" >&2
  exit 1
}
