#!/bin/sh
# The live trust gate's probe, run on a control plane: one HTTPS request to each kubelet's
# /healthz with the kubelet client certificate and key the running kube-apiserver here was started
# with (read from its command line, so the probe uses what the apiserver really presents; the key
# stays on this node, only its path is printed).
# $1…: one URL a kubelet (https://HOST:PORT/healthz).
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
# curl reads a colon in --cert as name:password; escaped, it is part of the name.
ecert=$(printf '%s' "$cert" | sed 's/\\/\\\\/g; s/:/\\:/g')
for url; do
  if command -v curl >/dev/null; then
    code=$(curl -gsS -k --noproxy '*' --max-time 10 --cert "$ecert" --key "$key" -o /dev/null -w '%{http_code}' -- "$url" 2>/dev/null)
    rc=$?
    case $rc in
      0) answer=$code ;;
      6|7) answer=connect ;;
      28) answer=timeout ;;
      58) answer=localcert ;;
      35|56) answer=tls ;;
      *) answer="curl-$rc" ;;
    esac
  elif command -v openssl >/dev/null; then
    hostport=${url#https://}
    hostport=${hostport%%/*}
    line=$(printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$hostport" |
      timeout 10 openssl s_client -quiet -connect "$hostport" -cert "$cert" -key "$key" 2>/dev/null | head -n 1)
    case $line in
      'HTTP/'*) answer=$(printf '%s\n' "$line" | awk '{ print $2 }') ;;
      *) answer=connect ;;
    esac
  else
    answer=notool
  fi
  printf 'KMPROBE %s %s\n' "$answer" "$url"
done
