#!/bin/sh
# plan --issue-certs: makes a key and a client certificate signed by the cluster CA, on the node
# (keys never travel), only while neither file exists; checks pair and chain before putting them
# in place with a rename, each through a temporary file mktemp makes beside it in a directory only
# root may write (see write-file.sh). On a failure it removes what it placed itself and nothing else.
# Out: "issued <cert sha256> <key sha256>".
# $1: run id, $2: certificate path, $3: key path, $4: CA certificate, $5: CA key, $6: subject, $7: days
run=$1 crt=$2 key=$3 ca=$4 cakey=$5 subject=$6 days=$7
umask 077
case $run in '' | */* | .*) echo "KMFAIL usage bad run id" >&2; exit 1 ;; esac
case $days in '' | *[!0-9]*) echo "KMFAIL usage bad number of days" >&2; exit 1 ;; esac
# shellcheck disable=SC1091 # included in the text by src/node/remote.ts
. /kubemend/lib/safe-dir.sh
for p in "$crt" "$key"; do
  d=${p%/*}
  why=$(unsafe_dir "${d:-/}") && { echo "KMFAIL unsafe $why: a user other than root could swap $p while kubemend writes it" >&2; exit 1; }
done
# kubemend's state directory (/var/lib/kubemend): $KUBEMEND_STATE_DIR, set by src/node/remote.ts.
T=$(mktemp -d "${KUBEMEND_STATE_DIR:?set by kubemend}/issue.XXXXXX") || { echo "KMFAIL issue cannot make a work directory" >&2; exit 1; }
# What this run placed (the key, until the certificate is placed too): removed again on a failure.
placed=
fail() {
  [ -n "$placed" ] && rm -f -- "$placed"
  rm -rf -- "$T"
  printf 'KMFAIL %s %s\n' "$1" "$2" >&2
  exit 1
}
{ [ ! -e "$crt" ] && [ ! -L "$crt" ] && [ ! -e "$key" ] && [ ! -L "$key" ]; } || fail exists "$crt or $key exists now"
openssl genrsa -out "$T/key" 2048 2>/dev/null || fail issue "openssl genrsa failed"
openssl req -new -key "$T/key" -subj "$subject" -out "$T/csr" 2>/dev/null || fail issue "openssl req failed"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$T/ext"
openssl x509 -req -in "$T/csr" -CA "$ca" -CAkey "$cakey" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -sha256 -extfile "$T/ext" -out "$T/crt" 2>/dev/null || fail issue "signing with $cakey failed"
[ "$(openssl x509 -noout -pubkey -in "$T/crt")" = "$(openssl pkey -pubout -in "$T/key")" ] || fail issue "the new certificate does not match its key"
openssl verify -CAfile "$ca" "$T/crt" >/dev/null 2>&1 || fail issue "the new certificate does not verify against $ca"
# place NAME PATH MODE: the file $T/NAME to PATH, which must still not exist.
place() {
  d=${2%/*}
  [ -n "$d" ] || d=/
  mkdir -p -- "$d" || fail issue "cannot create the directory $d"
  t=$(mktemp -- "$d/.${2##*/}.kubemend-XXXXXX") || fail issue "cannot create a temporary file in $d"
  { cat -- "$T/$1" > "$t" && chmod "$3" -- "$t" && { sync -- "$t" 2>/dev/null || sync; }; } ||
    { rm -f -- "$t"; fail issue "cannot write $t"; }
  { [ ! -e "$2" ] && [ ! -L "$2" ]; } || { rm -f -- "$t"; fail exists "$2 exists now"; }
  mv -f -- "$t" "$2" || { rm -f -- "$t"; fail issue "cannot place $2"; }
  placed=$2
}
place key "$key" 600
place crt "$crt" 644
placed=
echo "issued $(sha256sum < "$crt" | cut -d ' ' -f 1) $(sha256sum < "$key" | cut -d ' ' -f 1)"
rm -rf -- "$T"
