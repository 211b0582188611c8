#!/bin/sh
# Removes the inflight record, but only when it is the one of run $1: a rollback of an older backup
# must not forget another run that is still unfinished.
# $1: run id
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
f=${KUBEMEND_STATE_DIR:?set by kubemend}/inflight.json
[ -f "$f" ] || exit 0
if grep -qF "\"runId\":\"$1\"" "$f"; then
  rm -f -- "$f" && sync
else
  echo "KMFAIL other-run $f belongs to another run; left in place" >&2
  exit 1
fi
