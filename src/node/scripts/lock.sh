#!/bin/sh
# Holds the node lock for as long as the controller keeps writing heartbeat lines on stdin: it ends
# on EOF, on a dropped connection, or after 20 s without a heartbeat, and the kernel drops the flock.
# The lock and its owner record live in the lock directory (/run/kubemend), a directory of root's own (mode 700) on the
# tmpfs that is emptied at boot, which is also when no holder can exist: taking the lock leaves
# nothing on the node's disk. /run is writable by root only, so no other user can plant that name;
# it is still checked (not a link, a directory, ours, mode 700) before anything is opened in it.
# An older kubemend locked the lock file in its state directory (/var/lib/kubemend/lock): where that file exists (kubemend's own 0700
# directory, never created here), it is held too, so that the two versions exclude each other.
# First line out: LOCKED (held), NOFLOCK / NOTIMEOUT (a tool is missing), NORUNDIR <why> (the lock
# directory is not safe to use), LEGACY (an older kubemend holds its lock), nothing (another run holds it).
# $1: who holds it (JSON, written beside the lock so that a refused run can say who).
# Both directories are set by src/node/remote.ts: $KUBEMEND_LOCK_DIR and $KUBEMEND_STATE_DIR.
RUN=${KUBEMEND_LOCK_DIR:?set by kubemend}
OLD=${KUBEMEND_STATE_DIR:?set by kubemend}
command -v flock >/dev/null || { echo NOFLOCK; exit 71; }
command -v timeout >/dev/null || { echo NOTIMEOUT; exit 72; }
mkdir -m 700 -- "$RUN" 2>/dev/null
me=$(id -u)
why=
planted="kubemend keeps its lock only in a directory it made: find out who made this one, remove it and run again"
if [ -L "$RUN" ]; then
  why="is a symbolic link (to $(readlink -- "$RUN")); $planted"
elif [ -d "$RUN" ]; then
  st=$(stat -c '%u %a' -- "$RUN")
  [ "$st" = "$me 700" ] || why="has owner uid ${st% *} and mode ${st#* }, not uid $me and mode 700; $planted"
elif [ -e "$RUN" ]; then
  why="is not a directory; $planted"
else
  why="cannot be created by uid $me (kubemend needs root on the node)"
fi
if [ -n "$why" ]; then
  printf 'NORUNDIR %s %s\n' "$RUN" "$why"
  exit 70
fi
# The older version's lock counts only in the directory as that version left it (ours, mode 700):
# a lock file that another user can open is not one kubemend made, and must not block it.
legacy=
[ -d "$OLD" ] && [ ! -L "$OLD" ] && [ "$(stat -c '%u %a' -- "$OLD")" = "$me 700" ] &&
  [ -f "$OLD/lock" ] && [ ! -L "$OLD/lock" ] && [ -r "$OLD/lock" ] && legacy=$OLD/lock
# shellcheck disable=SC2016 # the inner script gets its values as arguments, not by expansion here
exec flock -n -E 75 "$RUN/lock" sh -c '
  if [ -n "$3" ]; then
    exec 9< "$3"
    flock -n 9 || { echo LEGACY; exit 76; }
  fi
  umask 077
  printf "%s\n" "$2" > "$1/lock.owner"
  echo LOCKED
  while l=$(timeout 20 head -n 1) && [ -n "$l" ]; do :; done' kubemend-lock "$RUN" "$1" "$legacy"
