#!/bin/sh
# podman's `shell` secrets driver in front of OpenBao / HashiCorp Vault KV v2.
# podman runs `VAULT_ADDR=... VAULT_TOKEN_FILE=... VAULT_CLI=... VAULT_MOUNT=... vault-kv.sh ACTION`
# with SECRET_ID set (podman's id of the secret); `store` gets the value on stdin.
# The token is read from VAULT_TOKEN_FILE, never from a command line.
set -eu
: "${VAULT_ADDR:?}" "${VAULT_TOKEN_FILE:?}" "${VAULT_CLI:?}" "${VAULT_MOUNT:=secret}"
VAULT_TOKEN=$(cat "$VAULT_TOKEN_FILE")
BAO_ADDR=$VAULT_ADDR BAO_TOKEN=$VAULT_TOKEN
export VAULT_ADDR VAULT_TOKEN BAO_ADDR BAO_TOKEN
path="phoenix/${SECRET_ID:-}"
case "${1:-}" in
  store)  exec "$VAULT_CLI" kv put -mount="$VAULT_MOUNT" "$path" value=- >/dev/null ;;
  lookup) exec "$VAULT_CLI" kv get -mount="$VAULT_MOUNT" -field=value "$path" ;;
  delete) exec "$VAULT_CLI" kv metadata delete -mount="$VAULT_MOUNT" "$path" >/dev/null ;;
  list)   "$VAULT_CLI" kv list -mount="$VAULT_MOUNT" phoenix/ 2>/dev/null | tail -n +3 || true ;;
  *) echo "usage: vault-kv.sh store|lookup|delete|list" >&2; exit 2 ;;
esac
