#!/usr/bin/env bash
# Usage: scripts/faults/make-certs.sh DIR
# Writes the TLS material of the fault suite into DIR (openssl only; nothing is downloaded):
#   ca.pem                  a private CA (the "custom CA that works" case trusts it)
#   good.pem/.key           signed by the CA for 127.0.0.1 and localhost
#   expired.pem/.key        signed by the CA for 127.0.0.1, valid only in January 2020
#   wrong-name.pem/.key     signed by the CA for wrong-name.example only
#   self-signed.pem/.key    for 127.0.0.1, signed by itself (no CA vouches for it)
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" >/dev/null 2>&1 || { echo "make-certs: failed: $*" >&2; "$@"; exit 1; }; }

quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
  -subj "/CN=vsync fault-suite CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

# A leaf signed by the CA: NAME SAN [openssl ca date options...]
leaf() {
  local name=$1 san=$2
  shift 2
  quiet openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
  cat >"$name.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
  if [ $# -eq 0 ]; then
    quiet openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile "$name.ext" -out "$name.pem"
  else
    # Fixed validity dates need `openssl ca` (x509 -req cannot back-date in OpenSSL 3.0).
    mkdir -p ca-db
    : >ca-db/index.txt
    [ -f ca-db/serial ] || echo 1000 >ca-db/serial
    cat >ca.cnf <<EOF
[ca]
default_ca = fault_ca
[fault_ca]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
EOF
    quiet openssl ca -batch -config ca.cnf -in "$name.csr" -out "$name.pem" -extfile "$name.ext" -notext "$@"
  fi
}

leaf good "IP:127.0.0.1,DNS:localhost"
leaf wrong-name "DNS:wrong-name.example"
leaf expired "IP:127.0.0.1,DNS:localhost" -startdate 20200101000000Z -enddate 20200131000000Z
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout self-signed.key -out self-signed.pem -days 825 \
  -subj "/CN=self-signed" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
rm -f ./*.csr ./*.ext
