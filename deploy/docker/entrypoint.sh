#!/bin/sh
# Entry point of the mpaka container image.
#
# 1. Secrets mounted as files (compose, swarm or Kubernetes secrets) are read
#    from MPAKA_JWT_SECRET_FILE / MPAKA_DATABASE_URL_FILE into MPAKA_JWT_SECRET
#    / MPAKA_DATABASE_URL, so they never appear in `docker inspect`. The *_FILE
#    variables are then removed: the hub rejects MPAKA_* variables that are
#    not configuration keys.
# 2. Arguments that start with "-" are options of `mpaka serve`.
# 3. The shell is replaced by the hub (exec), which receives SIGTERM directly.
set -eu

for var in MPAKA_JWT_SECRET MPAKA_DATABASE_URL; do
    file_var="${var}_FILE"
    eval "file=\${${file_var}:-}"
    if [ -n "${file}" ]; then
        eval "current=\${${var}:-}"
        if [ -n "${current}" ]; then
            echo "mpaka-entrypoint: both ${var} and ${file_var} are set; set only one" >&2
            exit 64
        fi
        if [ ! -r "${file}" ]; then
            echo "mpaka-entrypoint: ${file_var}: cannot read ${file}" >&2
            exit 66
        fi
        # Command substitution drops the trailing newline of the file.
        value="$(cat "${file}")"
        if [ -z "${value}" ]; then
            echo "mpaka-entrypoint: ${file_var}: ${file} is empty" >&2
            exit 66
        fi
        export "${var}=${value}"
    fi
    unset "${file_var}"
done

case "${1:-}" in
    "") set -- serve ;;
    -*) set -- serve "$@" ;;
esac

exec mpaka "$@"
