#!/bin/sh
# plan --issue-certs: makes a key and a client certificate signed by the cluster CA, on the node
# (keys never travel), only while neither file exists; checks pair and chain before putting them
# in place with a rename. Out: "issued <cert sha256> <key sha256>".
# $1: run id, $2: certificate path, $3: key path, $4: CA certificate, $5: CA key, $6: subject, $7: days
run=$1 crt=$2 key=$3 ca=$4 cakey=$5 subject=$6 days=$7
umask 077
case $run in '' | */* | .*) echo "KMFAIL usage bad run id" >&2; exit 1 ;; esac
case $days in '' | *[!0-9]*) echo "KMFAIL usage bad number of days" >&2; exit 1 ;; esac
T=$(mktemp -d /var/lib/kubemend/issue.XXXXXX) || { echo "KMFAIL issue cannot make a work directory" >&2; exit 1; }
fail() {
  rm -rf -- "$T"
  printf 'KMFAIL %s %s\n' "$1" "$2" >&2
  exit 1
}
{ [ ! -e "$crt" ] && [ ! -e "$key" ]; } || fail exists "$crt or $key exists now"
openssl genrsa -out "$T/key" 2048 2>/dev/null || fail issue "openssl genrsa failed"
openssl req -new -key "$T/key" -subj "$subject" -out "$T/csr" 2>/dev/null || fail issue "openssl req failed"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$T/ext"
openssl x509 -req -in "$T/csr" -CA "$ca" -CAkey "$cakey" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -sha256 -extfile "$T/ext" -out "$T/crt" 2>/dev/null || fail issue "signing with $cakey failed"
[ "$(openssl x509 -noout -pubkey -in "$T/crt")" = "$(openssl pkey -pubout -in "$T/key")" ] || fail issue "the new certificate does not match its key"
openssl verify -CAfile "$ca" "$T/crt" >/dev/null 2>&1 || fail issue "the new certificate does not verify against $ca"
place() {
  d=${2%/*}
  [ -n "$d" ] || d=/
  t=$d/.${2##*/}.kubemend-$run.tmp
  mkdir -p -- "$d" && cp -- "$T/$1" "$t" && chmod "$3" -- "$t" && { sync -- "$t" 2>/dev/null || sync; } &&
    mv -f -- "$t" "$2" || { rm -f -- "$t"; fail issue "cannot place $2"; }
}
place key "$key" 600
place crt "$crt" 644
echo "issued $(sha256sum < "$crt" | cut -d ' ' -f 1) $(sha256sum < "$key" | cut -d ' ' -f 1)"
rm -rf -- "$T"
