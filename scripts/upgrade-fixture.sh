#!/usr/bin/env bash
# Regenerates testdata/upgrade-v0.36.9.tar.gz: the data dir (data.db and
# auxiliary.db, gzipped) of a shop run by
# the last PocketBase v0.36.9 build (commit bf30d66), which the in-place
# upgrade test (upgrade_test.go) starts the current binary on. It builds that
# commit in a temporary git worktree and drives real API flows against it:
# the demo catalog, orders in every reachable status, a Stripe payment and
# refund by signed webhooks, an ignored event, edited shop settings and the
# queued emails. Needs go, curl, jq, openssl and sqlite3.
#
#   scripts/upgrade-fixture.sh
set -euo pipefail

COMMIT=bf30d66
repo=$(git rev-parse --show-toplevel)
out="$repo/testdata/upgrade-v0.36.9.tar.gz"
work=$(mktemp -d)
tree="$work/src"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  git -C "$repo" worktree remove --force "$tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git -C "$repo" worktree add --detach "$tree" "$COMMIT" >/dev/null
(cd "$tree" && CGO_ENABLED=0 go build -trimpath -o "$work/pocketshop" .)

owner=owner@example.com
password=owner-password-123
secret=whsec_upgradefixture
dir="$work/pb_data"
"$work/pocketshop" superuser upsert "$owner" "$password" --dir="$dir" >/dev/null
"$work/pocketshop" seed --dir="$dir" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
# Stripe is configured so that orders can be paid by card, but no call reaches
# Stripe: payments arrive as signed webhooks and the reconcile job is off.
STRIPE_SECRET_KEY=sk_test_upgradefixture STRIPE_WEBHOOK_SECRET=$secret \
  PUBLIC_URL=https://shop.example.com POCKETSHOP_JOB_RECONCILE_PAYMENTS=off \
  "$work/pocketshop" serve --http="127.0.0.1:$port" --dir="$dir" --dev=false >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "$url/api/health" >/dev/null && break; sleep 0.1; done

call() { # METHOD PATH [JSON] [TOKEN]
  curl -fsS -X "$1" "$url$2" -H 'Content-Type: application/json' ${4:+-H "Authorization: $4"} ${3:+-d "$3"}
}
webhook() { # JSON
  local t sig
  t=$(date +%s)
  sig=$(printf '%s.%s' "$t" "$1" | openssl dgst -sha256 -hmac "$secret" -hex | sed 's/.*= //')
  curl -fsS -X POST "$url/api/shop/stripe/webhook" -H "Stripe-Signature: t=$t,v1=$sig" -d "$1" >/dev/null
}
token=$(call POST /api/collections/_superusers/auth-with-password "{\"identity\":\"$owner\",\"password\":\"$password\"}" | jq -r .token)

# The owner edits the shop's settings.
settings=$(call GET '/api/collections/shop_settings/records?perPage=1' "" "$token" | jq -r '.items[0].id')
call PATCH "/api/collections/shop_settings/records/$settings" \
  '{"shop_name":"Upgrade Fixture Shop","owner_email":"owner@example.com","shipping_flat_cents":450,"free_shipping_over_cents":6000}' "$token" >/dev/null

mapfile -t products < <(call GET '/api/collections/products/records?sort=slug&perPage=3' "" "$token" | jq -r '.items[].id')
order() { # EMAIL PAYMENT_METHOD QUANTITY -> the order's JSON
  call POST /api/collections/orders/records "{\"email\":\"$1\",\"payment_method\":\"$2\",
    \"items\":[{\"product\":\"${products[0]}\",\"quantity\":$3},{\"product\":\"${products[1]}\",\"quantity\":1}],
    \"shipping_address\":{\"name\":\"Ann\",\"line1\":\"1 Main St\",\"city\":\"Springfield\",\"postal_code\":\"12345\",\"country\":\"US\"}}"
}

# pending (manual), paid (manual), fulfilled, cancelled by the customer.
order pending@example.com manual 1 >/dev/null
paid=$(order paid@example.com manual 2 | jq -r .id)
call PATCH "/api/collections/orders/records/$paid" '{"status":"paid"}' "$token" >/dev/null
shipped=$(order shipped@example.com manual 1 | jq -r .id)
call PATCH "/api/collections/orders/records/$shipped" '{"status":"paid"}' "$token" >/dev/null
call PATCH "/api/collections/orders/records/$shipped" '{"status":"fulfilled","tracking_number":"1Z999AA10123456784"}' "$token" >/dev/null
cancelled=$(order cancelled@example.com manual 3)
call POST "/api/shop/orders/$(jq -r .id <<<"$cancelled")/cancel?token=$(jq -r .token <<<"$cancelled")" >/dev/null

# Paid by card, then refunded in full, by Stripe's webhooks; one card order
# paid and kept; one event the shop does not act on.
for who in card refunded; do
  o=$(order "$who@example.com" stripe 1)
  id=$(jq -r .id <<<"$o"); total=$(jq -r .total_cents <<<"$o"); currency=$(jq -r .currency <<<"$o")
  webhook "{\"id\":\"evt_paid_$who\",\"object\":\"event\",\"type\":\"checkout.session.completed\",\"api_version\":\"2023-10-16\",\"created\":$(date +%s),
    \"data\":{\"object\":{\"id\":\"cs_test_$who\",\"object\":\"checkout.session\",\"client_reference_id\":\"$id\",\"metadata\":{\"order_id\":\"$id\"},
    \"amount_total\":$total,\"currency\":\"$currency\",\"payment_status\":\"paid\",\"status\":\"complete\",\"payment_intent\":\"pi_test_$who\"}}}"
done
webhook "{\"id\":\"evt_refund\",\"object\":\"event\",\"type\":\"charge.refunded\",\"api_version\":\"2023-10-16\",\"created\":$(date +%s),
  \"data\":{\"object\":{\"id\":\"ch_test_refunded\",\"object\":\"charge\",\"payment_intent\":\"pi_test_refunded\",\"amount\":$total,
  \"amount_refunded\":$total,\"currency\":\"$currency\",\"metadata\":{\"order_id\":\"$id\"}}}}"
webhook "{\"id\":\"evt_ignored\",\"object\":\"event\",\"type\":\"customer.created\",\"api_version\":\"2023-10-16\",\"created\":$(date +%s),\"data\":{\"object\":{\"id\":\"cus_test\",\"object\":\"customer\"}}}"

# Let the outbox settle: with no SMTP set, the sender notes that on each email.
for _ in $(seq 100); do
  n=$(call GET "/api/collections/emails/records?filter=$(jq -rn --arg f 'status="queued" && last_error=""' '$f|@uri')" "" "$token" | jq .totalItems)
  [ "$n" = 0 ] && break; sleep 0.1
done

kill -TERM "$pid"; wait "$pid" || true; pid=""
# One self-contained file per database: no WAL beside it.
for db in data.db auxiliary.db; do
  sqlite3 "$dir/$db" 'PRAGMA wal_checkpoint(TRUNCATE); VACUUM;' >/dev/null
done
# Reproducible: the same databases give the same archive.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf - data.db auxiliary.db | gzip -n -9 >"$out"
echo "wrote $out:"; ls -l "$out"
