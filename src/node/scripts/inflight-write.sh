#!/bin/sh
# Writes the inflight record (JSON on stdin) atomically, before the first file changes, so that a
# run that dies after this point is found and rolled back by the next one. The temporary file is
# mktemp's (an exclusive create), never a fixed name.
umask 077
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
f=${KUBEMEND_STATE_DIR:?set by kubemend}/inflight.json
t=$(mktemp -- "$f.XXXXXX") || { echo "KMFAIL write cannot create a temporary file beside $f" >&2; exit 1; }
cat > "$t" && sync && mv -f -- "$t" "$f" && sync || {
  rm -f -- "$t"
  echo "KMFAIL write cannot write $f" >&2
  exit 1
}
