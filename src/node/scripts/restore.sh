#!/bin/sh
# Puts every file of a backup back: modified files by an atomic copy back (sha256 checked, mode and
# owner restored), created files removed, but only while they are still what kubemend wrote: a
# created file someone changed or replaced since is theirs now, and stays. Stops at the first file
# it cannot restore. The copy back goes through a temporary file mktemp makes beside the target, in
# a directory only root may write (see write-file.sh).
# $1: run id of the backup, then one sextuple per file:
#   modified PATH SHA256 COPY MODE UID:GID   (COPY: the file's name in the backup directory)
#   created  PATH SHA256 DIRS -    -         (SHA256: what kubemend wrote; '-' when the record has none)
#   (DIRS: the name in the backup directory of the record of the directories the apply made for
#   PATH, or '-'; those directories are removed when empty, up to the one recorded and no further)
# Out: one line per file, in order: "restored N" / "removed N", "unchanged N" when it already is as in
# the backup (a restore that changes nothing restarts no static pod), or, for a created file that is
# no longer kubemend's, "left N changed <its sha256 now>", "left N notfile" (a link, a directory…) or
# "left N unrecorded" (the record has no sha256 to prove it: never removed unchecked). N counts
# files from 0.
run=$1
shift
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
B=${KUBEMEND_STATE_DIR:?set by kubemend}/backups/$run
tmp=
fail() {
  [ -n "$tmp" ] && rm -f -- "$tmp"
  printf 'KMFAIL %s %s\n' "$1" "$2" >&2
  exit 1
}
# shellcheck disable=SC1091 # included in the text by src/node/remote.ts
. /kubemend/lib/safe-dir.sh
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
      if [ ! -e "$2" ] && [ ! -L "$2" ]; then
        echo "unchanged $i"
      elif [ -L "$2" ] || [ ! -f "$2" ]; then
        echo "left $i notfile"
        return 0
      else
        case $3 in '' | *[!0-9a-f]*) echo "left $i unrecorded"; return 0 ;; esac
        now=$(sha256sum < "$2" | cut -d ' ' -f 1)
        [ "$now" = "$3" ] || { echo "left $i changed $now"; return 0; }
        rm -f -- "$2" || fail restore "cannot remove $2"
        echo "removed $i"
      fi
      case $4 in
        - | '') ;;
        */* | .*) fail usage "bad directory record name for $2" ;;
        *) [ -f "$B/$4" ] && unmake "$2" "$(cat -- "$B/$4")" ;;
      esac
      ;;
    modified)
      case $4 in '' | */* | .*) fail usage "bad backup copy name for $2" ;; esac
      if [ -f "$2" ] && [ ! -L "$2" ] && [ "$(sha256sum < "$2" | cut -d ' ' -f 1)" = "$3" ]; then
        echo "unchanged $i"
        return 0
      fi
      dir=${2%/*}
      [ -n "$dir" ] || dir=/
      why=$(unsafe_dir "$dir") && fail unsafe "$why: a user other than root could swap $2 while kubemend restores it; restore it by hand from $B/$4"
      tmp=$(mktemp -- "$dir/.${2##*/}.kubemend-XXXXXX") || fail restore "cannot create a temporary file in $dir"
      cat -- "$B/$4" > "$tmp" || fail restore "cannot copy $B/$4 to $tmp"
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
