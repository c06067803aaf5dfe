#include "hmac.h"

#include <openssl/crypto.h>

#include <cstring>

namespace hotsession {

namespace {

const char kB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard alphabet, padding dropped: that is what cookie-signature emits.
void Base64Mac(const uint8_t in[32], char out[kSigLen]) {
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= 30; i += 3) {
    uint32_t v = (uint32_t(in[i]) << 16) | (uint32_t(in[i + 1]) << 8) | in[i + 2];
    out[o++] = kB64[v >> 18];
    out[o++] = kB64[(v >> 12) & 63];
    out[o++] = kB64[(v >> 6) & 63];
    out[o++] = kB64[v & 63];
  }
  uint32_t v = (uint32_t(in[30]) << 16) | (uint32_t(in[31]) << 8);
  out[o++] = kB64[v >> 18];
  out[o++] = kB64[(v >> 12) & 63];
  out[o++] = kB64[(v >> 6) & 63];
}

}  // namespace

HmacKey::HmacKey(const uint8_t* key, size_t len) {
  uint8_t block[SHA256_CBLOCK];
  std::memset(block, 0, sizeof block);
  // RFC 2104: keys longer than the block are hashed first.
  if (len > SHA256_CBLOCK) {
    SHA256(key, len, block);
  } else if (len > 0) {
    std::memcpy(block, key, len);
  }
  uint8_t pad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad, sizeof pad);
  for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

HmacKey::~HmacKey() {
  OPENSSL_cleanse(&inner_, sizeof inner_);
  OPENSSL_cleanse(&outer_, sizeof outer_);
}

void HmacKey::Mac(const uint8_t* msg, size_t len, uint8_t out[32]) const {
  SHA256_CTX ctx = inner_;
  SHA256_Update(&ctx, msg, len);
  SHA256_Final(out, &ctx);
  ctx = outer_;
  SHA256_Update(&ctx, out, 32);
  SHA256_Final(out, &ctx);
}

void HmacKey::Sign(const uint8_t* msg, size_t len, char out[kSigLen]) const {
  uint8_t mac[32];
  Mac(msg, len, mac);
  Base64Mac(mac, out);
}

long KeyRing::Unsign(const uint8_t* s, size_t len) const {
  // memrchr is a GNU extension; the signature sits at the end, so this is short.
  size_t dot = len;
  while (dot > 0 && s[dot - 1] != '.') dot--;
  if (dot == 0) return -1;
  dot--;
  // Anything but exactly 43 characters after the last dot is forged or truncated.
  if (len - dot - 1 != kSigLen || keys_.empty()) return -1;
  const uint8_t* given = s + dot + 1;
  int ok = 0;
  char expected[kSigLen];
  for (const HmacKey& key : keys_) {
    // No early exit: a match on an old secret costs the same as one on the first.
    key.Sign(s, dot, expected);
    ok |= CRYPTO_memcmp(expected, given, kSigLen) == 0;
  }
  return ok ? long(dot) : -1;
}

}  // namespace hotsession
