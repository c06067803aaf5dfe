#!/usr/bin/env bash
# Fuzzes the addon's C++ parsers (cookie header + signature, record frame,
# AES-256-GCM envelope, v2 record scanner, v2 apply/merge) with libFuzzer
# under AddressSanitizer and UBSan. The harnesses in native/fuzz/ link the
# same .cc files the addon is built from, against the system OpenSSL (the
# addon uses the one inside node); the v2 ones compare record.cc with the
# slow model in native/fuzz/record_model.h.
#
#   scripts/fuzz-native.sh [seconds-per-target]   (default 12: 60 s for all five)
#
# Needs: clang, libFuzzer runtime, OpenSSL headers and libcrypto. On Debian 12:
#   apt-get install -y clang libclang-rt-14-dev libssl-dev
# Exits non-zero on any crash, leak, sanitizer report or build failure.
set -euo pipefail

SECONDS_PER_TARGET="${1:-12}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build/fuzz"
CXX="${CXX_FUZZ:-clang++}"
TARGETS=(cookie frame open record patch)

if ! command -v "$CXX" >/dev/null; then
  echo "fuzz-native: $CXX not found (apt-get install -y clang libclang-rt-14-dev libssl-dev)" >&2
  exit 2
fi

mkdir -p "$OUT"
SRC=(cookie.cc hmac.cc frame.cc aead.cc record.cc)
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -DOPENSSL_SUPPRESS_DEPRECATED -I"$ROOT/native/src")

for t in "${TARGETS[@]}"; do
  echo "fuzz-native: building fuzz_$t"
  "$CXX" "${FLAGS[@]}" "$ROOT/native/fuzz/fuzz_$t.cc" "${SRC[@]/#/$ROOT/native/src/}" \
    -lcrypto -o "$OUT/fuzz_$t"
done

# Seeds give the fuzzer a valid start: a signed cookie header, a frame, an
# envelope header with a known key id, v2 records and patches (the vectors
# of test/unit/record-vectors.test.mjs). The corpus persists in build/fuzz.
seed() { mkdir -p "$OUT/corpus/$1"; printf "$3" > "$OUT/corpus/$1/$2"; }
seedhex() { seed "$1" "$2" "$(printf '%s' "$3" | tr -d ' ' | sed 's/../\\x&/g')"; }
seed cookie 1 'a=1; connect.sid=s%%3Aabc.BpxCrWRpvZMh%%2Fwk%%2Fdjl34N%%2Bm%%2BVQEU7K%%2F5WenLwJCgFU; b="2"'
seed cookie 2 'connect.sid="s:abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU"; x; y==; connect.sid=%%E2%%98%%83'
seed cookie 3 '\003sidsid=%%C3%%A9%%F0%%9F%%98%%80; sid=s:'
seed frame 1 '\x68\x01\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x00\x00\x01\x8b\xcf\xe5\x68\x00\x00\x00\x00\x04\x81\xa1\x61\x01'
REC='6802000000000001020304050000018bcfe56800c3807e5f0000000200016100000001010005c3bce282ac0000000681a178920102'
PATCH='680202000000018bd50bc4000000018bcfe56800c3807e5f00000003000161000000010a0005c3bce282acffffffff00016200000003a26869'
CLEAR='6802020100000000000000000000018bcfe56801c3807e5f0000000200017800000001c3000179ffffffff'
FWD='6802010000000000000000630000000000000001c3807e5f000000006e657769645f313233'
seedhex record 1 "$REC"
seedhex record 2 "$PATCH"
seedhex record 3 "$CLEAR"
seedhex record 4 "$FWD"
# Records of n keys k0..k(n-1) (value nil): past 8 keys the scanner hashes.
manykeys() {
  local n=$1 kind=${2:-00} i key out
  out=$(printf '6802%s000000000000000000000000000000000000000000%08x' "$kind" "$n")
  for ((i = 0; i < n; i++)); do
    key=$(printf 'k%d' "$i" | od -An -tx1 | tr -d ' \n')
    out+=$(printf '%04x%s00000001c0' $((${#key} / 2)) "$key")
  done
  printf '%s' "$out"
}
seedhex record 5 "$(manykeys 12)"
seedhex record 6 "$(manykeys 40)"
# patch: u16 length of r, u16 length of p1, then r, p1, p2 (see fuzz_patch.cc).
seedhex patch 1 "00350039$REC$PATCH$CLEAR"
seedhex patch 2 "0035002b$REC$CLEAR$PATCH"
seedhex patch 3 "80000039$PATCH$PATCH"
M40=$(manykeys 40)
P12=$(manykeys 12 02)
seedhex patch 4 "$(printf '%04x%04x' $((${#M40} / 2)) $((${#P12} / 2)))$M40$P12$(manykeys 20 02)"
seed open 1 '\x02hs\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x2a\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0cciphertext-and-a-tag-of-16-bytes'

status=0
for t in "${TARGETS[@]}"; do
  echo "fuzz-native: running fuzz_$t for ${SECONDS_PER_TARGET}s"
  mkdir -p "$OUT/artifacts/$t"
  dict=()
  if [[ $t == record || $t == patch ]]; then dict=(-dict="$ROOT/native/fuzz/record.dict"); fi
  if ! ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
    "$OUT/fuzz_$t" "${dict[@]}" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
      "$OUT/corpus/$t" >"$OUT/fuzz_$t.log" 2>&1; then
    echo "fuzz-native: fuzz_$t FAILED; last lines of $OUT/fuzz_$t.log:" >&2
    tail -n 40 "$OUT/fuzz_$t.log" >&2
    status=1
  else
    runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$OUT/fuzz_$t.log" | grep -oE "[0-9]+$" || echo "?")
    echo "fuzz-native: fuzz_$t ok, $runs runs, no crash or leak"
  fi
done
exit "$status"
