#!/usr/bin/env bash
# tests/conformance/run.sh - CTest conformance.sdk: the official Azure SDKs
# for JavaScript (package-lock.json pins them), unchanged, against armsim.
#
# Starts $ARMSIM over HTTPS with a throwaway CA (scripts/armsim-ca), a
# client secret and a client certificate made here, a small page size so
# the SDKs page through nextLink, then runs scenario.mjs with Node trusting
# that CA (NODE_EXTRA_CA_CERTS; TLS verification stays on).  Everything
# lives in a temp dir removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

if [ -z "${ARMSIM:-}" ] || [ ! -x "$ARMSIM" ]; then
	echo "FAIL: ARMSIM must name the armsim binary (CTest sets it)" >&2
	exit 1
fi
command -v node >/dev/null || { echo "FAIL: node not found (scripts/bootstrap)" >&2; exit 1; }
"$here/install.sh"

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

"$src/scripts/armsim-ca" "$tmp/ca"
# The application's certificate for ClientCertificateCredential: armsim
# gets the certificate, @azure/identity the certificate and key in one PEM.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
	-subj "/CN=chargeback conformance app" \
	-keyout "$tmp/app.key" -out "$tmp/app.pem" 2>/dev/null
cat "$tmp/app.pem" "$tmp/app.key" >"$tmp/app-bundle.pem"

export CONFORMANCE_TENANT_ID=7e6a1b3c-4d5e-4f60-8a71-92b3c4d5e6f7
export CONFORMANCE_CLIENT_ID=3f2e1d0c-b9a8-4765-8432-10fedcba9876
CONFORMANCE_CLIENT_SECRET=$(openssl rand -hex 24)
export CONFORMANCE_CLIENT_SECRET
export CONFORMANCE_CLIENT_CERT=$tmp/app-bundle.pem
export CONFORMANCE_PAGE_SIZE=2
# The partner's cost month: last month, as a partner would ask for.
CONFORMANCE_PERIOD=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
export CONFORMANCE_PERIOD

"$ARMSIM" --port 0 --port-file "$tmp/port" \
	--tls-cert "$tmp/ca/server.pem" --tls-key "$tmp/ca/server.key" \
	--tenant-id "$CONFORMANCE_TENANT_ID" \
	--client-id "$CONFORMANCE_CLIENT_ID" \
	--client-secret-env CONFORMANCE_CLIENT_SECRET \
	--client-cert "$tmp/app.pem" \
	--customers 5 --subscriptions-per-customer 3 \
	--period "$CONFORMANCE_PERIOD" \
	--page-size "$CONFORMANCE_PAGE_SIZE" --lro-polls 2 --retry-after 1 \
	--quiet >"$tmp/armsim.out" 2>"$tmp/armsim.err" &
pid=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/port" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$tmp/port" ]; then
	echo "FAIL: armsim did not start" >&2
	cat "$tmp/armsim.err" >&2
	exit 1
fi
export ARMSIM_BASE="https://127.0.0.1:$(cat "$tmp/port")"
export NODE_EXTRA_CA_CERTS=$tmp/ca/ca.pem
unset NODE_TLS_REJECT_UNAUTHORIZED
cd "$here"
node scenario.mjs
