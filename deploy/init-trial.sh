#!/usr/bin/env bash
# Prepares the files deploy/docker-compose.yml needs for a trial, next to it:
#   secrets/postgres_password  random database password
#   secrets/database_url       postgres://mpaka:<that password>@postgres:5432/mpaka
#   secrets/jwt_secret         random 64-character token signing key
#   tls/fullchain.pem, tls/privkey.pem   a self-signed certificate (30 days)
# Existing files are kept, so running it again changes nothing. None of these
# files may be committed (deploy/.gitignore).
#
# Usage: deploy/init-trial.sh [HOSTNAME]        (default: localhost)
# Environment: TRIAL_DIR=DIR writes into DIR instead of deploy/ (used by check.sh).
set -euo pipefail

dir="${TRIAL_DIR:-$(cd "$(dirname "$0")" && pwd)}"
name="${1:-localhost}"
umask 077

command -v openssl >/dev/null || { echo "init-trial: openssl is needed" >&2; exit 1; }

mkdir -p "${dir}/secrets" "${dir}/tls"
chmod 0700 "${dir}/secrets" "${dir}/tls"

# Secrets are read inside the containers by unprivileged users (the hub's UID
# 10001, postgres' 999): the files are 0644 inside a 0700 directory, so other
# users of this machine cannot reach them.
write_secret() { # file value
    local file="${dir}/secrets/$1"
    if [[ -s "${file}" ]]; then
        echo "kept     secrets/$1"
        return
    fi
    printf '%s\n' "$2" > "${file}"
    chmod 0644 "${file}"
    echo "created  secrets/$1"
}

write_secret postgres_password "$(openssl rand -hex 24)"
write_secret database_url "postgres://mpaka:$(tr -d '\n' < "${dir}/secrets/postgres_password")@postgres:5432/mpaka"
write_secret jwt_secret "$(openssl rand -base64 48 | tr -d '\n')"

if [[ -s "${dir}/tls/fullchain.pem" && -s "${dir}/tls/privkey.pem" ]]; then
    echo "kept     tls/fullchain.pem, tls/privkey.pem"
else
    san="DNS:${name},DNS:localhost,IP:127.0.0.1,IP:::1"
    [[ "${name}" == "localhost" ]] && san="DNS:localhost,IP:127.0.0.1,IP:::1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 30 -subj "/CN=${name}/O=mpaka trial" \
        -addext "subjectAltName=${san}" \
        -keyout "${dir}/tls/privkey.pem" -out "${dir}/tls/fullchain.pem" 2>/dev/null
    chmod 0600 "${dir}/tls/privkey.pem"
    chmod 0644 "${dir}/tls/fullchain.pem"
    echo "created  tls/fullchain.pem, tls/privkey.pem (self-signed for ${name}, 30 days)"
fi
