#!/bin/sh
# Writes the secrets deploy/compose.yaml reads, once, into deploy/compose/secrets/ (kept
# out of git and of the image's build context): passwords for PostgreSQL and Redis, the
# URLs the engines use with them, the XMPP component secret, and a self-signed
# certificate for ejabberd's domain (replace it with a real one for real clients).
#
# The directory is private to whoever runs this; the files in it are readable by the
# containers' own users (engine, PostgreSQL, Redis, ejabberd), which Compose bind-mounts
# them for as they are.
set -eu
dir=${SECRETS_DIR:-$(dirname "$0")/secrets}   # SECRETS_DIR: for the tests
domain=${XMPP_DOMAIN:-localhost}
if [ -e "$dir/xmpp_secret" ]; then
    echo "$dir already holds secrets; remove it to make new ones" >&2
    exit 1
fi
mkdir -p "$dir"
chmod 700 "$dir"
umask 022
postgres=$(openssl rand -hex 24)
redis=$(openssl rand -hex 24)
printf '%s\n' "$postgres" >"$dir/postgres_password"
printf 'postgresql+asyncpg://chat:%s@postgres:5432/chat\n' "$postgres" >"$dir/database_url"
printf '%s\n' "$redis" >"$dir/redis_password"
printf 'redis://:%s@redis:6379/0\n' "$redis" >"$dir/redis_url"
openssl rand -hex 32 >"$dir/xmpp_secret"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$domain" \
    -addext "subjectAltName=DNS:$domain,DNS:*.$domain" \
    -keyout "$dir/xmpp_key.pem" -out "$dir/xmpp_cert.pem" 2>/dev/null
cat "$dir/xmpp_cert.pem" "$dir/xmpp_key.pem" >"$dir/xmpp.pem"
rm "$dir/xmpp_cert.pem" "$dir/xmpp_key.pem"
echo "secrets written to $dir"
