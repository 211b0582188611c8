#!/bin/sh
# Who holds the node lock: the owner record the holder wrote (empty when there is none), at most
# 4 KiB of it. $1: "legacy" for the record of an older kubemend beside /var/lib/kubemend/lock.
if [ "$1" = legacy ]; then d=/var/lib/kubemend; else d=/run/kubemend; fi
[ -d "$d" ] && [ ! -L "$d" ] && [ -f "$d/lock.owner" ] && [ ! -L "$d/lock.owner" ] &&
  head -c 4096 -- "$d/lock.owner" 2>/dev/null
exit 0
