#!/bin/sh
# Applies Prisma migrations for every medledger service (`prisma migrate deploy`).
# Runs in the `migrate` image (docker/Dockerfile, target migrate) with the repository at /repo
# and the full dev node_modules; can also be run from a checkout: sh docker/migrate.sh
#
# Environment:
#   MIGRATE_SERVICES        services to migrate, in order      (default: "ledger records trials supply")
#   DATABASE_URL_<SERVICE>  full URL for one service, e.g. DATABASE_URL_LEDGER   (wins if set)
#   POSTGRES_URL_BASE       otherwise: <base>/medledger_<service>, e.g. postgresql://u:p@postgres:5432
#   POSTGRES_URL_QUERY      optional query string appended as ?<query>, e.g. "sslmode=disable"
#   MIGRATE_ATTEMPTS        tries per service before giving up  (default: 5, 3 s apart)
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SERVICES=${MIGRATE_SERVICES:-"ledger records trials supply"}
ATTEMPTS=${MIGRATE_ATTEMPTS:-5}

# tools/prisma/prisma.cjs (if present) runs the Prisma CLI with the timer preload
# (tools/prisma/unref-timers.cjs) and CHECKPOINT_DISABLE=1; otherwise do the same here.
export CHECKPOINT_DISABLE=1
export PRISMA_HIDE_UPDATE_MESSAGE=1
if [ -f "$ROOT/tools/prisma/prisma.cjs" ]; then
  set -- node "$ROOT/tools/prisma/prisma.cjs"
else
  if [ ! -x "$ROOT/node_modules/.bin/prisma" ]; then
    echo "migrate: node_modules/.bin/prisma not found (needs the full dev node_modules)" >&2
    exit 1
  fi
  if [ -f "$ROOT/tools/prisma/unref-timers.cjs" ]; then
    export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require $ROOT/tools/prisma/unref-timers.cjs"
  else
    echo "migrate: warning: tools/prisma/unref-timers.cjs not found; prisma may linger after finishing" >&2
  fi
  set -- "$ROOT/node_modules/.bin/prisma"
fi

# Print the URL with the password masked.
mask() { printf '%s' "$1" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'; }

failed=""
for svc in $SERVICES; do
  config="apps/$svc/prisma.config.ts"
  if [ ! -f "$config" ]; then
    echo "migrate: $config not found" >&2
    failed="$failed $svc"
    continue
  fi

  var="DATABASE_URL_$(printf '%s' "$svc" | tr '[:lower:]-' '[:upper:]_')"
  eval "url=\${$var:-}"
  if [ -z "$url" ]; then
    if [ -z "${POSTGRES_URL_BASE:-}" ]; then
      echo "migrate: set $var or POSTGRES_URL_BASE" >&2
      exit 1
    fi
    url="${POSTGRES_URL_BASE%/}/medledger_$svc${POSTGRES_URL_QUERY:+?$POSTGRES_URL_QUERY}"
  fi

  echo "migrate: $svc -> $(mask "$url")"
  n=1
  until DATABASE_URL="$url" "$@" migrate deploy --config "$config"; do
    if [ "$n" -ge "$ATTEMPTS" ]; then
      echo "migrate: $svc failed after $n attempt(s)" >&2
      failed="$failed $svc"
      break
    fi
    n=$((n + 1))
    echo "migrate: $svc: retrying in 3 s (attempt $n of $ATTEMPTS)" >&2
    sleep 3
  done
done

if [ -n "$failed" ]; then
  echo "migrate: FAILED:$failed" >&2
  exit 1
fi
echo "migrate: all done ($SERVICES)"
