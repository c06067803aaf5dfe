#!/usr/bin/env bash
# Fuzzes the addon's C++ parsers (cookie header + signature, record frame,
# AES-256-GCM envelope) with libFuzzer under AddressSanitizer and UBSan.
# The harnesses in native/fuzz/ link the same .cc files the addon is built
# from, against the system OpenSSL (the addon uses the one inside node).
#
#   scripts/fuzz-native.sh [seconds-per-target]   (default 20: 60 s for all three)
#
# Needs: clang, libFuzzer runtime, OpenSSL headers and libcrypto. On Debian 12:
#   apt-get install -y clang libclang-rt-14-dev libssl-dev
# Exits non-zero on any crash, leak, sanitizer report or build failure.
set -euo pipefail

SECONDS_PER_TARGET="${1:-20}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build/fuzz"
CXX="${CXX_FUZZ:-clang++}"
TARGETS=(cookie frame open)

if ! command -v "$CXX" >/dev/null; then
  echo "fuzz-native: $CXX not found (apt-get install -y clang libclang-rt-14-dev libssl-dev)" >&2
  exit 2
fi

mkdir -p "$OUT"
SRC=(cookie.cc hmac.cc frame.cc aead.cc)
FLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -DOPENSSL_SUPPRESS_DEPRECATED -I"$ROOT/native/src")

for t in "${TARGETS[@]}"; do
  echo "fuzz-native: building fuzz_$t"
  "$CXX" "${FLAGS[@]}" "$ROOT/native/fuzz/fuzz_$t.cc" "${SRC[@]/#/$ROOT/native/src/}" \
    -lcrypto -o "$OUT/fuzz_$t"
done

# Seeds give the fuzzer a valid start: a signed cookie header, a frame, an
# envelope header with a known key id. The corpus persists in build/fuzz.
seed() { mkdir -p "$OUT/corpus/$1"; printf "$3" > "$OUT/corpus/$1/$2"; }
seed cookie 1 'a=1; connect.sid=s%%3Aabc.BpxCrWRpvZMh%%2Fwk%%2Fdjl34N%%2Bm%%2BVQEU7K%%2F5WenLwJCgFU; b="2"'
seed cookie 2 'connect.sid="s:abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU"; x; y==; connect.sid=%%E2%%98%%83'
seed cookie 3 '\003sidsid=%%C3%%A9%%F0%%9F%%98%%80; sid=s:'
seed frame 1 '\x68\x01\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x00\x00\x01\x8b\xcf\xe5\x68\x00\x00\x00\x00\x04\x81\xa1\x61\x01'
seed open 1 '\x02hs\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x2a\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0cciphertext-and-a-tag-of-16-bytes'

status=0
for t in "${TARGETS[@]}"; do
  echo "fuzz-native: running fuzz_$t for ${SECONDS_PER_TARGET}s"
  mkdir -p "$OUT/artifacts/$t"
  if ! ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
    "$OUT/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 \
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
