#!/usr/bin/env bash
# `make run` after scripts/bootstrap.sh: the staff and admin tokens, migrations, the first admin account,
# topology, then every service.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
SECRETS="var/secrets.env"

say() { printf '==> %s\n' "$*"; }

mkdir -p var

# A staff and an admin token, made once: only their sha256 is kept (var/secrets.env), each token
# is shown once. (Roles: docs/SECURITY.md; an install from before the roles gets its admin token now.)
new_token() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))'; }
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
if [ ! -f "$SECRETS" ]; then
    (
        umask 077
        printf '# Made by `make run`. sha256 of the tokens (the tokens themselves are not stored).\n' >"$SECRETS"
    )
fi
TOKEN=""
ADMIN_TOKEN=""
if ! grep -q '^STAFF_TOKEN_SHA256=' "$SECRETS"; then
    TOKEN="$(new_token)"
    printf 'STAFF_TOKEN_SHA256=%s\n' "$(digest "$TOKEN")" >>"$SECRETS"
fi
if ! grep -q '^ADMIN_TOKEN_SHA256=' "$SECRETS"; then
    ADMIN_TOKEN="$(new_token)"
    printf 'ADMIN_TOKEN_SHA256=%s\n' "$(digest "$ADMIN_TOKEN")" >>"$SECRETS"
fi
if [ -n "$TOKEN" ]; then
    cat <<EOF

================================================================================
 Staff token (shown only this once; keep it somewhere safe):

     $TOKEN

 Staff endpoints (/api/staff/...) need the header
     Authorization: Bearer $TOKEN
 e.g.  curl -H 'Authorization: Bearer $TOKEN' ${PUBLIC_BASE_URL:-http://127.0.0.1:8000}/api/staff/activities
 For automation; people sign in at ${PUBLIC_BASE_URL:-http://127.0.0.1:8000}/staff/login with their account

 Lost it? Delete $SECRETS and run \`make run\` again for a new one.
================================================================================
EOF
fi
if [ -n "$ADMIN_TOKEN" ]; then
    cat <<EOF

================================================================================
 Admin token (everything staff and ops may do: the captured mail at /staff/mail,
 bulk exports of personal data; shown only this once, keep it somewhere safe):

     $ADMIN_TOKEN
================================================================================

EOF
fi

# A token digest already in the environment wins over the stored one.
while IFS='=' read -r name value; do
    case "$name" in
        STAFF_TOKEN_SHA256 | OPS_TOKEN_SHA256 | ADMIN_TOKEN_SHA256)
            if [ -z "${!name:-}" ]; then export "$name=$value"; fi ;;
    esac
done <"$SECRETS"

# Quiet the import-time notices of nameko's dependencies (eventlet's deprecation notice, raised
# where nameko imports it; pkg_resources'), once per process otherwise. Set PYTHONWARNINGS to see them.
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning,ignore:pkg_resources is deprecated:UserWarning,ignore::Warning:nameko.cli.commands,ignore::Warning:nameko.extensions}"

say "applying database migrations"
"$PY" -m kernel.migrate

# The first admin account, made once when there is no account at all; its password is shown this
# once (lost it? `python -m ops account create --email ... --name ... --role admin`).
FIRST_ADMIN="$("$PY" -m ops account first-admin)"
if [ -n "$FIRST_ADMIN" ]; then
    cat <<EOF

================================================================================
 First admin account: sign in at ${PUBLIC_BASE_URL:-http://127.0.0.1:8000}/staff/login
 and make everyone's own account under Accounts.
$FIRST_ADMIN
================================================================================

EOF
fi

say "declaring RabbitMQ exchanges and queues"
"$PY" -m kernel.topology

say "starting every service (Ctrl-C stops them all)"
exec "$PY" scripts/run_platform.py "$@"
