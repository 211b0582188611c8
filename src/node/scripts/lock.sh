#!/bin/sh
# Holds the node lock for as long as the controller keeps writing heartbeat lines on stdin: it ends
# on EOF, on a dropped connection, or after 20 s without a heartbeat, and the kernel drops the flock.
# First line out: LOCKED (held), NOFLOCK / NOTIMEOUT (a tool is missing), nothing (another run holds it).
# $1: who holds it (JSON, written beside the lock so that a refused run can say who).
STATE=/var/lib/kubemend
mkdir -p "$STATE/backups" && chmod 700 "$STATE" "$STATE/backups" || { echo NOSTATE; exit 70; }
command -v flock >/dev/null || { echo NOFLOCK; exit 71; }
command -v timeout >/dev/null || { echo NOTIMEOUT; exit 72; }
# shellcheck disable=SC2016 # the inner script gets its values as arguments, not by expansion here
exec flock -n -E 75 "$STATE/lock" sh -c '
  umask 077
  printf "%s\n" "$2" > "$1/lock.owner"
  echo LOCKED
  while l=$(timeout 20 head -n 1) && [ -n "$l" ]; do :; done' kubemend-lock "$STATE" "$1"
