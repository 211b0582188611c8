#!/bin/sh
# Every backup's metadata on the node, one base64 line each (a path in it may hold any character).
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
S=${KUBEMEND_STATE_DIR:?set by kubemend}
for m in "$S"/backups/*/metadata.json; do
  [ -f "$m" ] || continue
  base64 < "$m" | tr -d '\n'
  echo
done
exit 0
