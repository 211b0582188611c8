#!/bin/sh
# The record of a run that has changed files on this node and not yet finished (empty when none).
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
f=${KUBEMEND_STATE_DIR:?set by kubemend}/inflight.json
[ -f "$f" ] || exit 0
cat -- "$f"
