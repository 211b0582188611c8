#!/bin/sh
# Writes the inflight record (JSON on stdin) atomically, before the first file changes, so that a
# run that dies after this point is found and rolled back by the next one.
umask 077
f=/var/lib/kubemend/inflight.json
cat > "$f.tmp" && sync && mv -f -- "$f.tmp" "$f" && sync || {
  rm -f -- "$f.tmp"
  echo "KMFAIL write cannot write $f" >&2
  exit 1
}
