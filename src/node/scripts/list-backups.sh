#!/bin/sh
# Every backup's metadata on the node, one line each: the backup directory's name and the file's
# content, each base64 (a name or a path in it may hold any character), separated by a space.
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
S=${KUBEMEND_STATE_DIR:?set by kubemend}
for m in "$S"/backups/*/metadata.json; do
  [ -f "$m" ] || continue
  d=${m%/metadata.json}
  printf '%s' "${d##*/}" | base64 | tr -d '\n'
  printf ' '
  base64 < "$m" | tr -d '\n'
  echo
done
exit 0
