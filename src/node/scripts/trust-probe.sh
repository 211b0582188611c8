#!/bin/sh
# The live trust gate's probe, run on a control plane: one HTTPS request to each kubelet's
# /healthz with the kube-apiserver's kubelet client certificate and key, which stay on this node.
# $1: the certificate, $2: the key, then one URL a target (https://HOST:PORT/healthz).
# Prints one line a target: `KMPROBE <answer> <url>`, where answer is the HTTP status, or
#   tls      the TLS handshake was rejected       connect  nothing answered at that address
#   timeout  no answer within 10 s                 localcert the certificate or key could not be used
#   notool   neither curl nor openssl on this node
cert=$1
key=$2
shift 2
for url; do
  if command -v curl >/dev/null; then
    code=$(curl -gsS -k --noproxy '*' --max-time 10 --cert "$cert" --key "$key" -o /dev/null -w '%{http_code}' -- "$url" 2>/dev/null)
    rc=$?
    case $rc in
      0) answer=$code ;;
      6|7) answer=connect ;;
      28) answer=timeout ;;
      58|59) answer=localcert ;;
      35|56|60|80|90|91) answer=tls ;;
      *) answer="curl-$rc" ;;
    esac
  elif command -v openssl >/dev/null; then
    hostport=${url#https://}
    hostport=${hostport%%/*}
    line=$(printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$hostport" |
      timeout 10 openssl s_client -quiet -connect "$hostport" -cert "$cert" -key "$key" 2>/dev/null | head -n 1)
    case $line in
      'HTTP/'*) answer=$(printf '%s\n' "$line" | awk '{ print $2 }') ;;
      *) answer=tls ;;
    esac
  else
    answer=notool
  fi
  printf 'KMPROBE %s %s\n' "$answer" "$url"
done
