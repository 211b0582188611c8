#!/bin/sh
# Atomic write of one file, its new content on stdin: a dot-named temporary file beside the target
# (the kubelet skips dot-files in the static pod directory), its sha256 checked, mode and owner
# copied from the target, fsync, the target checked once more, rename, fsync of the directory.
# A reader sees the old file or the new one, never half of it; a failed step leaves the target as is.
# The temporary file is made by mktemp (an exclusive create: a name someone planted, a symbolic link
# say, makes it pick another name, never follow it), in a directory only root may write (checked
# here, and at preflight by backup.sh): every later step on that name reaches the file mktemp made.
# $1: run id, $2: modify|create, $3: path, $4: sha256 the target must still have ('-' for create),
# $5: sha256 of the new content
run=$1 act=$2 path=$3 before=$4 after=$5
dir=${path%/*}
[ -n "$dir" ] || dir=/
tmp=
fail() {
  [ -n "$tmp" ] && rm -f -- "$tmp"
  printf 'KMFAIL %s %s\n' "$1" "$2" >&2
  exit 1
}
# shellcheck disable=SC1091 # included in the text by src/node/remote.ts
. /kubemend/lib/safe-dir.sh
case $run in '' | */* | .*) fail usage "bad run id" ;; esac
case $path in /*) ;; *) fail usage "not an absolute path: $path" ;; esac
sum() { sha256sum < "$1" | cut -d ' ' -f 1; }
umask 022
why=$(unsafe_dir "$dir") && fail unsafe "$why: a user other than root could swap $path while kubemend writes it"
mkdir -p -- "$dir" || fail write "cannot create the directory $dir"
tmp=$(mktemp -- "$dir/.${path##*/}.kubemend-XXXXXX") || fail write "cannot create a temporary file in $dir"
cat > "$tmp" || fail write "cannot write $tmp"
[ "$(sum "$tmp")" = "$after" ] || fail write "the content written to $tmp does not match its sha256"
case $act in
  modify)
    mode=$(stat -c %a -- "$path") && owner=$(stat -c %u:%g -- "$path") || fail stale "cannot stat $path"
    chmod -- "$mode" "$tmp" && chown -- "$owner" "$tmp" || fail write "cannot give $tmp the mode $mode and owner $owner of $path"
    ;;
  create)
    chmod 644 -- "$tmp" || fail write "cannot chmod $tmp"
    ;;
  *) fail usage "unknown action $act" ;;
esac
sync -- "$tmp" 2>/dev/null || sync
# The last check before the rename: nothing else changed the target meanwhile.
case $act in
  modify)
    [ -L "$path" ] && fail link "$path became a symbolic link during the apply"
    [ "$(sum "$path")" = "$before" ] || fail stale "$path changed during the apply"
    ;;
  create)
    { [ ! -e "$path" ] && [ ! -L "$path" ]; } || fail exists "$path exists now but the plan creates it"
    ;;
esac
mv -f -- "$tmp" "$path" || fail write "cannot rename $tmp to $path"
sync -- "$dir" 2>/dev/null || sync
echo written
