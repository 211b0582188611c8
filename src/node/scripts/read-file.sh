#!/bin/sh
# Prints one file ($1), as rollback shows the diff back to a backup. No such file (not even a
# dangling link): "KMFAIL absent", so that a file kubemend created and is already gone is told apart.
if [ ! -e "$1" ] && [ ! -L "$1" ]; then
  printf 'KMFAIL absent %s does not exist\n' "$1" >&2
  exit 1
fi
exec cat -- "$1"
