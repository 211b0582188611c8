#!/bin/sh
# Appends one journal line to a run's backup directory on the node (when it exists).
# $1: run id, $2: the JSON line
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
d=${KUBEMEND_STATE_DIR:?set by kubemend}/backups/$1
case $1 in '' | */* | .*) exit 0 ;; esac
[ -d "$d" ] || exit 0
printf '%s\n' "$2" >> "$d/journal.jsonl"
