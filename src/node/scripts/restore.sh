#!/bin/sh
# Puts every file of a backup back: modified files by an atomic copy back (sha256 checked, mode and
# owner restored), created files removed. Stops at the first file it cannot restore.
# $1: run id of the backup, then one sextuple per file:
#   modified PATH SHA256 COPY MODE UID:GID   (COPY: the file's name in the backup directory)
#   created  PATH -      DIRS -    -
#   (DIRS: the name in the backup directory of the record of the directories the apply made for
#   PATH, or '-'; those directories are removed when empty, up to the one recorded and no further)
# Out: one line per file, in order: "restored N" / "removed N", or "unchanged N" when it already is as in
# the backup (a restore that changes nothing restarts no static pod). N counts files from 0.
run=$1
shift
B=/var/lib/kubemend/backups/$run
tmp=
fail() {
  [ -n "$tmp" ] && rm -f -- "$tmp"
  printf 'KMFAIL %s %s\n' "$1" "$2" >&2
  exit 1
}
case $run in '' | */* | .*) fail usage "bad run id" ;; esac
[ $(($# % 6)) -eq 0 ] || fail usage "arguments come in sextuples"
# Removes the empty directories above $1 up to $2 (which must be one of them); stops at the first
# that is not empty: it holds something that is not kubemend's.
unmake() {
  d=${1%/*}
  while [ -n "$d" ]; do
    case $d in "$2" | "$2"/*) ;; *) return 0 ;; esac
    rmdir -- "$d" 2>/dev/null || return 0
    [ "$d" = "$2" ] && return 0
    d=${d%/*}
  done
}
restore() {
  case $1 in
    created)
      rm -f -- "$2" || fail restore "cannot remove $2"
      case $4 in
        - | '') ;;
        */* | .*) fail usage "bad directory record name for $2" ;;
        *) [ -f "$B/$4" ] && unmake "$2" "$(cat -- "$B/$4")" ;;
      esac
      echo "removed $i"
      ;;
    modified)
      case $4 in '' | */* | .*) fail usage "bad backup copy name for $2" ;; esac
      if [ -f "$2" ] && [ ! -L "$2" ] && [ "$(sha256sum < "$2" | cut -d ' ' -f 1)" = "$3" ]; then
        echo "unchanged $i"
        return 0
      fi
      dir=${2%/*}
      [ -n "$dir" ] || dir=/
      tmp=$dir/.${2##*/}.kubemend-restore.tmp
      cp -- "$B/$4" "$tmp" || fail restore "cannot copy $B/$4 to $tmp"
      [ "$(sha256sum < "$tmp" | cut -d ' ' -f 1)" = "$3" ] || fail restore "the backup copy $B/$4 of $2 does not match its sha256"
      chmod -- "$5" "$tmp" && chown -- "$6" "$tmp" || fail restore "cannot give $tmp the mode $5 and owner $6"
      sync -- "$tmp" 2>/dev/null || sync
      mv -f -- "$tmp" "$2" || fail restore "cannot rename $tmp to $2"
      tmp=
      sync -- "$dir" 2>/dev/null || sync
      echo "restored $i"
      ;;
    *) fail usage "unknown action $1" ;;
  esac
}
i=0
while [ $# -gt 0 ]; do
  restore "$1" "$2" "$3" "$4" "$5" "$6"
  i=$((i + 1))
  shift 6
done
