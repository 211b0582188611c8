#!/bin/sh
# Who holds the node lock: the owner record the holder wrote (empty when there is none), at most
# 4 KiB of it. $1: "legacy" for the record of an older kubemend beside its lock in the state directory.
# The lock directory (/run/kubemend) and the state directory (/var/lib/kubemend) are $KUBEMEND_LOCK_DIR
# and $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
if [ "$1" = legacy ]; then d=${KUBEMEND_STATE_DIR:?set by kubemend}; else d=${KUBEMEND_LOCK_DIR:?set by kubemend}; fi
[ -d "$d" ] && [ ! -L "$d" ] && [ -f "$d/lock.owner" ] && [ ! -L "$d/lock.owner" ] &&
  head -c 4096 -- "$d/lock.owner" 2>/dev/null
exit 0
