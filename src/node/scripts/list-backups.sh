#!/bin/sh
# Every backup's metadata on the node, one base64 line each (a path in it may hold any character).
for m in /var/lib/kubemend/backups/*/metadata.json; do
  [ -f "$m" ] || continue
  base64 < "$m" | tr -d '\n'
  echo
done
exit 0
