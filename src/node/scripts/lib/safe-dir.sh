#!/bin/sh
# Included (not run) by the scripts that write beside a target: src/node/remote.ts puts this text
# where a script says `. /kubemend/lib/safe-dir.sh`.
#
# unsafe_dir DIR: prints why kubemend must not write in DIR and returns 0, or prints nothing and
# returns 1 when DIR is safe: DIR (or, when it does not exist yet, the nearest directory above it
# that does: the write makes the rest, root's and 0755) is owned by root (or by the user this runs
# as) and writable by no one else, and so is every directory above it, as named and as resolved
# through symbolic links; above DIR a root-owned sticky directory (/tmp) is allowed, since others
# cannot rename or remove in it what they do not own. Whoever owns or may write a directory on the
# way can swap the path under a root process between its check and its write (OpenSSH's
# StrictModes checks a path the same way).
unsafe_dir() {
  ud_me=$(id -u)
  ud_d=$1
  while [ -n "$ud_d" ] && [ ! -e "$ud_d" ] && [ ! -L "$ud_d" ]; do ud_d=${ud_d%/*}; done
  [ -n "$ud_d" ] || ud_d=/
  ud_real=$(readlink -f -- "$ud_d") || { echo "cannot resolve $ud_d"; return 0; }
  for ud_p in "$ud_d" "$ud_real"; do
    ud_top=1
    while :; do
      ud_s=$(stat -L -c '%u %a %U' -- "$ud_p" 2>/dev/null) || { echo "cannot stat $ud_p"; return 0; }
      ud_u=${ud_s%% *}
      ud_m=${ud_s#* }
      ud_name=${ud_m#* }
      ud_m=${ud_m%% *}
      [ -d "$ud_p" ] || { echo "$ud_p is not a directory"; return 0; }
      if [ "$ud_u" != 0 ] && [ "$ud_u" != "$ud_me" ]; then
        echo "$ud_p is owned by $ud_name (uid $ud_u, mode $ud_m), not by root"
        return 0
      fi
      if [ $((0$ud_m & 022)) -ne 0 ] && { [ -n "$ud_top" ] || [ $((0$ud_m & 01000)) -eq 0 ]; }; then
        echo "$ud_p is writable by group or others (mode $ud_m, owner $ud_name)"
        return 0
      fi
      [ "$ud_p" = / ] && break
      ud_p=${ud_p%/*}
      [ -n "$ud_p" ] || ud_p=/
      ud_top=
    done
  done
  return 1
}
