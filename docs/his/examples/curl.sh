#!/usr/bin/env bash
# 9001 sign-in of sandbox hospital H32010000001 with each signature profile (needs curl, openssl).
set -euo pipefail
URL="${YIDI_SETTLEMENT_URL:-http://127.0.0.1:8002}"
CODE=H32010000001
NOW_S=$(date +%s)
BODY=$(cat <<JSON
{"infno":"9001","msgid":"${CODE}$(date +%Y%m%d%H%M%S)0001","mdtrtarea_admvs":"320100","recer_sys_code":"YBXT","infver":"V1.0","opter_type":"1","opter":"001","opter_name":"收费员","inf_time":"$(date '+%Y-%m-%d %H:%M:%S')","fixmedins_code":"${CODE}","fixmedins_name":"南京市第一人民医院(沙盒)","input":{"signIn":{"opter_no":"001","mac":"00-16-3E-00-00-01","ip":"10.0.0.8"}}}
JSON
)

# TIF: sha256(timestamp + token + nonce + timestamp), timestamp in seconds; path per transaction.
NONCE=$RANDOM
SIG=$(printf '%s' "${NOW_S}sandbox-tif-token-${CODE}${NONCE}${NOW_S}" | openssl dgst -sha256 -r | cut -d' ' -f1)
curl -sS "$URL/ebus/gdyb_api/prd/hsa/hgs/9001" -H 'content-type: application/json' \
  -H "x-tif-paasid: sbx_h32010000001" -H "x-tif-timestamp: $NOW_S" \
  -H "x-tif-nonce: $NONCE" -H "x-tif-signature: $SIG" --data-binary "$BODY"; echo

# CSB: base64(HMAC-SHA1(secret key, sorted _api_* pairs joined by &)), timestamp in ms.
# The msgid is the replay check's nonce here (no _api_nonce), so this request uses its own.
BODY_CSB=${BODY/0001\"/0002\"}
TS_MS="${NOW_S}000"
TEXT="_api_access_key=AK${CODE}&_api_name=9001&_api_timestamp=${TS_MS}&_api_version=1.0.0"
SIG=$(printf '%s' "$TEXT" | openssl dgst -sha1 -hmac "sandbox-csb-sk-${CODE}" -binary | base64)
curl -sS "$URL/CSB/hsa-fsi-9001" -H 'content-type: text/plain' \
  -H "_api_name: 9001" -H "_api_version: 1.0.0" -H "_api_timestamp: $TS_MS" \
  -H "_api_access_key: AK${CODE}" -H "_api_signature: $SIG" --data-binary "$BODY_CSB"; echo

# Body HMAC: hex HMAC-SHA256(his_secret, timestamp \n nonce \n sha256_hex(body)), ms.
BODY_HMAC=${BODY/0001\"/0003\"}
NONCE=$(openssl rand -hex 8)
HASH=$(printf '%s' "$BODY_HMAC" | openssl dgst -sha256 -r | cut -d' ' -f1)
SIG=$(printf '%s\n%s\n%s' "$TS_MS" "$NONCE" "$HASH" | openssl dgst -sha256 -hmac "sandbox-secret-${CODE}" -r | cut -d' ' -f1)
curl -sS "$URL/fsi/api/rsfComIfsService/callService" -H 'content-type: application/json' \
  -H "x-yidi-institution: $CODE" -H "x-yidi-timestamp: $TS_MS" \
  -H "x-yidi-nonce: $NONCE" -H "x-yidi-signature: $SIG" --data-binary "$BODY_HMAC"; echo
