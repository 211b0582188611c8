#!/bin/sh
# Checks that every file is still as planned, that there is room, then copies each file about to
# change into the run's backup directory (0700, copies 0600) and writes its metadata (stdin).
# Nothing outside the backup directory is written; on any failure the directory is removed again,
# with kubemend's state directory and its backups directory when this run made them.
# $1: run id, then one triple per file: modify|create|issue PATH SHA256 (the sha256 the plan saw;
# '-' for create; issue: a certificate or key --issue-certs will make, only checked, not recorded)
# Refused before anything is written (KMFAIL unsafe): a file whose directory, or one above it, a
# user other than root owns or may write (lib/safe-dir.sh says which and why): that user could swap
# the path between kubemend's check and its write.
# For a created file whose directory does not exist yet, <index>.dirs names the topmost directory
# missing now (the write makes it), so that a restore removes what the apply made and nothing else.
# Out: "copy <index> <path>" for each copy made, then "time <node clock, epoch seconds>".
umask 077
run=$1
shift
# kubemend's state directory (/var/lib/kubemend) is $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
S=${KUBEMEND_STATE_DIR:?set by kubemend}
B=$S/backups/$run
made=
fail() {
  [ -n "$made" ] && rm -rf -- "$made"
  printf 'KMFAIL %s %s\n' "$1" "$2" >&2
  exit 1
}
# shellcheck disable=SC1091 # included in the text by src/node/remote.ts
. /kubemend/lib/safe-dir.sh
case $run in '' | */* | .*) fail usage "bad run id" ;; esac
[ $(($# % 3)) -eq 0 ] || fail usage "arguments come in triples: action path sha256"
command -v sha256sum >/dev/null || fail tool "sha256sum is not installed"

# Room for a copy of every file plus the metadata, with a margin.
need=65536
check() {
  d=${2%/*}
  why=$(unsafe_dir "${d:-/}") &&
    fail unsafe "$2: $why, so a user other than root could swap the file while kubemend writes it as root; make every directory on the path root's and writable by root alone (chown root DIR; chmod go-w DIR), or keep the file elsewhere, then plan again"
  case $1 in
    modify)
      [ -L "$2" ] && fail link "$2 is a symbolic link to $(readlink -f -- "$2"): kubemend writes only regular files, so it leaves the link and its target as they are; change the target by hand, or replace the link with a file and plan again"
      [ -f "$2" ] || fail stale "$2 no longer exists"
      [ "$(sha256sum < "$2" | cut -d ' ' -f 1)" = "$3" ] || fail stale "$2 changed since the plan was made"
      size=$(stat -c %s -- "$2") || fail stale "cannot stat $2"
      need=$((need + size))
      ;;
    create | issue)
      { [ ! -e "$2" ] && [ ! -L "$2" ]; } || fail exists "$2 exists now but the plan creates it"
      ;;
    *) fail usage "unknown action $1" ;;
  esac
}
n=0
for a; do
  n=$((n + 1))
  case $((n % 3)) in
    1) act=$a ;;
    2) path=$a ;;
    0) check "$act" "$path" "$a" ;;
  esac
done

[ -e "$B" ] && fail usage "$B exists already"
# kubemend's state directory appears with the first backup a node gets, and goes with a failed one:
# made removes the topmost directory this run made.
for d in "${B%/*/*}" "${B%/*}" "$B"; do
  [ "$d" != "$B" ] && [ -d "$d" ] && continue
  mkdir -m 700 -- "$d" || fail nospace "cannot create $d"
  [ -n "$made" ] || made=$d
done
# kubemend's own directories are root's alone: nothing in them can be planted by anyone else.
why=$(unsafe_dir "$S/backups") && fail unsafe "$why: kubemend keeps its backups there and needs it root's alone"
avail=$(df -Pk -- "$B" | awk 'NR==2 { print $4 }')
[ "$((avail * 1024))" -ge "$need" ] || fail nospace "$B has $avail KiB free, kubemend needs $((need / 1024)) KiB for the backups"

n=0
i=0
for a; do
  n=$((n + 1))
  case $((n % 3)) in
    1) act=$a ;;
    2)
      if [ "$act" = issue ]; then
        :
      elif [ "$act" = modify ]; then
        cp -- "$a" "$B/$i.orig" || fail nospace "copying $a: $(df -Pk -- "$B" | awk 'NR==2 { print $4 }') KiB free"
        echo "copy $i $a"
      else
        top=
        d=${a%/*}
        while [ -n "$d" ] && [ ! -e "$d" ] && [ ! -L "$d" ]; do
          top=$d
          d=${d%/*}
        done
        if [ -n "$top" ]; then
          printf '%s\n' "$top" > "$B/$i.dirs" || fail nospace "writing $B/$i.dirs"
        fi
      fi
      i=$((i + 1))
      ;;
  esac
done
# The record reaches the disk before its name does: a power cut never leaves a torn record, which
# would make the node's backups unreadable exactly when a rollback needs them.
{ cat > "$B/metadata.json.tmp" && { sync -- "$B/metadata.json.tmp" 2>/dev/null || sync; } &&
  mv -f -- "$B/metadata.json.tmp" "$B/metadata.json"; } || fail nospace "writing $B/metadata.json"
sync
echo "time $(date +%s)"
