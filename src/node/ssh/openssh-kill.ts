/**
 * Killing a timed-out command on the node. ssh2 sends the channel a KILL signal, which sshd turns
 * into killpg() of the command's session; OpenSSH's client has no such request, and ending the
 * local client only closes the channel (a command that neither reads nor writes would live on).
 *
 * So a second command on the same connection finds the orphan and kills its process group. sshd
 * starts every command in a session of its own (setsid), as a child of the sshd process that
 * serves the connection, with pipes for stdin/stdout/stderr whose other ends that sshd process
 * holds. Once the channel is closed, sshd has let go of them: a sibling session whose stdout pipe
 * no longer shows up among sshd's descriptors is a command nobody is reading, i.e. the one that
 * timed out (or one whose output bound was hit). Both ends of a pipe share one inode, so the
 * comparison is exact; a command whose stdout is not a pipe is never touched. It runs as the same
 * user as the command (through sudo when the command was), like sshd's own signal handling.
 */

/** POSIX sh; retries for up to ~1 s while sshd finishes closing the channel. Prints the PIDs it killed. */
export const KILL_ORPHANS_SCRIPT = `
fields() { sed 's/.*) //' "$1" 2>/dev/null; }
# shellcheck disable=SC2046
set -- $(fields /proc/$$/stat)
sid=$4
# shellcheck disable=SC2046
set -- $(fields /proc/"$sid"/stat)
sshd=$2
[ -n "$sshd" ] && [ "$sshd" != 1 ] || exit 0
tries=0
while [ "$tries" -lt 5 ]; do
  held=$(for f in /proc/"$sshd"/fd/*; do readlink "$f"; done 2>/dev/null)
  killed=
  # One pass over every process (a node runs hundreds): the children of sshd but this session.
  kids=$(cat /proc/[0-9]*/stat 2>/dev/null |
    awk -v p="$sshd" -v me="$sid" '{ pid = $1; sub(/.*\\) /, ""); if ($2 == p && pid != me) print pid }')
  for pid in $kids; do
    d=/proc/$pid
    out=$(readlink "$d"/fd/1 2>/dev/null) || continue
    case $out in pipe:*) ;; *) continue ;; esac
    case "
$held
" in *"
$out
"*) continue ;; esac
    kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null
    echo "$pid"
    killed=1
  done
  [ -n "$killed" ] && exit 0
  sleep 0.2 2>/dev/null || sleep 1
  tries=$((tries + 1))
done
`;
