#!/bin/sh
# The live trust gate's probe, run on a control plane: one HTTPS request to each kubelet's
# /healthz (or /pods, the list kubectl logs starts from) with the kubelet client certificate and key
# the running kube-apiserver here was started with (read from its command line, so the probe uses
# what the apiserver really presents; the key stays on this node, only its path is printed).
# $1…: one URL a kubelet (https://HOST:PORT/PATH); then, optionally, `--anonymous` and URLs asked
# with no credentials at all (a kubelet whose door was closed must refuse them), each printed first
# as `KMANON <answer> <url>`, whatever the kube-apiserver here.
# Prints `KMCALLER none` (no kube-apiserver runs here), `KMCALLER ambiguous <pid>…` (more than one
# root process could be it, proc-identity.sh: none is asked), `KMCALLER anonymous` (it has no kubelet
# client certificate), `KMCALLER badpath` (its certificate or key path holds a newline: nothing
# else is printed or asked), or `KMCALLER pair` then `KMCERT <path>` and `KMKEY <path>`; then, for a
# pair, one line a URL: `KMPROBE <answer> <url>`, where answer is the HTTP status, or
#   tls       the TLS handshake failed (the kubelet never refuses a client certificate there: it
#             asks for one and answers 401 when it does not trust it)
#   connect   nothing answered at that address        timeout  no answer within 10 s
#   localcert the certificate or key could not be used   notool   neither curl nor openssl here
NL='
'
SOH=$(printf '\001')
cert=
key=
found=
# ask URL [CERT KEY]: prints the answer (HTTP status or one of the words above) for one request.
ask() {
  if command -v curl >/dev/null; then
    if [ $# -gt 1 ]; then
      # curl reads a colon in --cert as name:password; escaped, it is part of the name.
      ecert=$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/:/\\:/g')
      code=$(curl -gsS -k --noproxy '*' --max-time 10 --cert "$ecert" --key "$3" -o /dev/null -w '%{http_code}' -- "$1" 2>/dev/null)
    else
      code=$(curl -gsS -k --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' -- "$1" 2>/dev/null)
    fi
    rc=$?
    case $rc in
      0) echo "$code" ;;
      6|7) echo connect ;;
      28) echo timeout ;;
      58) echo localcert ;;
      35|56) echo tls ;;
      *) echo "curl-$rc" ;;
    esac
  elif command -v openssl >/dev/null; then
    hostport=${1#https://}
    path=/${hostport#*/}
    hostport=${hostport%%/*}
    if [ $# -gt 1 ]; then
      line=$(printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" |
        timeout 10 openssl s_client -quiet -connect "$hostport" -cert "$2" -key "$3" 2>/dev/null | head -n 1)
    else
      line=$(printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" |
        timeout 10 openssl s_client -quiet -connect "$hostport" 2>/dev/null | head -n 1)
    fi
    case $line in
      'HTTP/'*) printf '%s\n' "$line" | awk '{ print $2 }' ;;
      *) echo connect ;;
    esac
  else
    echo notool
  fi
}
# The URLs asked with a pair, then those asked with nothing (after --anonymous).
n=0
anon=
for a; do
  n=$((n + 1))
  if [ "$a" = --anonymous ]; then anon=1; break; fi
done
if [ -n "$anon" ]; then
  i=0
  for url; do
    i=$((i + 1))
    [ "$i" -gt "$n" ] || continue
    printf 'KMANON %s %s\n' "$(ask "$url")" "$url"
  done
fi
# Only the node's own kube-apiserver (proc-identity.sh): the paths come from no other process.
# shellcheck source=src/node/scripts/lib/proc-identity.sh
. /kubemend/lib/proc-identity.sh
kube_procs kube-apiserver
# More than one process that could be it: no probe from here, never the first or last of them.
amb=
for t in $KUBE_IGNORED; do
  case $t in *:ambiguous) amb="$amb ${t%%:*}" ;; esac
done
if [ -n "$amb" ]; then echo "KMCALLER ambiguous$amb"; exit 0; fi
for t in $KUBE_PROCS; do
  # One argument a line; a newline inside one becomes \001, so that it cannot split a path in two.
  args=$(tr '\n\000' '\001\n' < "$KUBE_PROC/${t%%:*}/cmdline") || continue
  found=1
  pc=
  pk=
  want=
  while IFS= read -r a; do
    case $want in
      cert) pc=$a; want=; continue ;;
      key) pk=$a; want=; continue ;;
    esac
    # The flag parser reads "_" in a name as "-" (component-base's WordSepNormalizeFunc).
    n=${a%%=*}
    case $n in *_*) n=$(printf '%s\n' "$n" | tr _ -) ;; esac
    case $a in *=*) v=${a#*=}; eq=1 ;; *) v=; eq= ;; esac
    case $n:$eq in
      --kubelet-client-certificate:1) pc=$v ;;
      --kubelet-client-certificate:) want=cert ;;
      --kubelet-client-key:1) pk=$v ;;
      --kubelet-client-key:) want=key ;;
    esac
  done <<ARGS
$args
ARGS
  if [ -n "$pc" ] && [ -n "$pk" ]; then cert=$pc; key=$pk; fi
done
if [ -z "$found" ]; then echo 'KMCALLER none'; exit 0; fi
if [ -z "$cert" ]; then echo 'KMCALLER anonymous'; exit 0; fi
# A path with a newline would print as two lines, the second one a line of the caller's choosing.
case $cert$key in *"$NL"* | *"$SOH"*) echo 'KMCALLER badpath'; exit 0 ;; esac
printf 'KMCALLER pair\nKMCERT %s\nKMKEY %s\n' "$cert" "$key"
i=0
for url; do
  i=$((i + 1))
  # The URLs before --anonymous only.
  if [ -n "$anon" ] && [ "$i" -ge "$n" ]; then break; fi
  printf 'KMPROBE %s %s\n' "$(ask "$url" "$cert" "$key")" "$url"
done
