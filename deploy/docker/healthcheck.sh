#!/bin/bash
# Container health check of the mpaka image, without curl or wget: one HTTP
# request to /readyz on the hub's own port through bash's /dev/tcp. Exits 0
# when the hub answers 200 (ready: it can read and write its database), 1 otherwise (docker's --timeout bounds the wait).
set -u

listen="${MPAKA_LISTEN:-0.0.0.0:8080}"
port="${listen##*:}"

if ! exec 3<>"/dev/tcp/127.0.0.1/${port}"; then
    echo "mpaka-healthcheck: nothing listens on 127.0.0.1:${port}" >&2
    exit 1
fi
printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
status=""
IFS= read -r -t 2 status <&3 || true
exec 3<&-

case "${status}" in
    "HTTP/1."?" 200"*) exit 0 ;;
esac
echo "mpaka-healthcheck: /readyz answered: ${status:-nothing}" >&2
exit 1
