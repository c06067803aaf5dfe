#include "aead.h"

#include "frame.h"

namespace hotsession {

AeadRing::~AeadRing() {
  for (Key& k : keys_) {
    EVP_CIPHER_CTX_free(k.enc);
    EVP_CIPHER_CTX_free(k.dec);
  }
}

bool AeadRing::Add(const uint8_t key[32], uint32_t id) {
  if (Lookup(id) != nullptr) return false;
  Key k{id, EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new()};
  bool ok = k.enc != nullptr && k.dec != nullptr &&
            EVP_EncryptInit_ex(k.enc, EVP_aes_256_gcm(), nullptr, key, nullptr) == 1 &&
            EVP_DecryptInit_ex(k.dec, EVP_aes_256_gcm(), nullptr, key, nullptr) == 1;
  if (!ok) {
    EVP_CIPHER_CTX_free(k.enc);
    EVP_CIPHER_CTX_free(k.dec);
    return false;
  }
  keys_.push_back(k);
  return true;
}

const AeadRing::Key* AeadRing::Lookup(uint32_t id) const {
  // Rings hold a handful of keys: a scan beats any map here.
  for (const Key& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

bool AeadRing::Seal(const uint8_t* pt, size_t pt_len, uint64_t expires_at,
                    const uint8_t* aad, size_t aad_len,
                    const uint8_t nonce[kSealNonce], uint8_t* out) const {
  if (keys_.empty() || expires_at > kMaxTime || pt_len > 0x7fffffff || aad_len > 0x7fffffff) {
    return false;
  }
  const Key& k = keys_.front();
  out[0] = kSealVersion;
  WriteU32(out + 1, k.id);
  WriteU64(out + 5, expires_at);
  for (size_t i = 0; i < kSealNonce; i++) out[kSealHeader + i] = nonce[i];
  EVP_CIPHER_CTX* ctx = k.enc;
  int n = 0;
  // A null cipher and key keep the schedule from Add(); only the nonce changes.
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (EVP_EncryptUpdate(ctx, nullptr, &n, out, kSealHeader) != 1) return false;
  if (aad_len > 0 && EVP_EncryptUpdate(ctx, nullptr, &n, aad, int(aad_len)) != 1) return false;
  uint8_t* ct = out + kSealHeader + kSealNonce;
  int written = 0;
  if (pt_len > 0) {
    if (EVP_EncryptUpdate(ctx, ct, &n, pt, int(pt_len)) != 1) return false;
    written = n;
  }
  if (EVP_EncryptFinal_ex(ctx, ct + written, &n) != 1) return false;
  written += n;
  if (size_t(written) != pt_len) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kSealTag, ct + pt_len) == 1;
}

long AeadRing::Check(const uint8_t* env, size_t len, uint64_t* expires_at) const {
  if (len < kSealOverhead || env[0] != kSealVersion || len - kSealOverhead > 0x7fffffff) {
    return -1;
  }
  if (Lookup(ReadU32(env + 1)) == nullptr) return -1;
  uint64_t e = ReadU64(env + 5);
  if (e > kMaxTime) return -1;
  *expires_at = e;
  return long(len - kSealOverhead);
}

bool AeadRing::Open(const uint8_t* env, size_t len, const uint8_t* aad,
                    size_t aad_len, uint8_t* out) const {
  uint64_t expires_at;
  long ct_len = Check(env, len, &expires_at);
  if (ct_len < 0 || aad_len > 0x7fffffff) return false;
  const Key* k = Lookup(ReadU32(env + 1));
  EVP_CIPHER_CTX* ctx = k->dec;
  int n = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, env + kSealHeader) != 1) return false;
  if (EVP_DecryptUpdate(ctx, nullptr, &n, env, kSealHeader) != 1) return false;
  if (aad_len > 0 && EVP_DecryptUpdate(ctx, nullptr, &n, aad, int(aad_len)) != 1) return false;
  const uint8_t* ct = env + kSealHeader + kSealNonce;
  int written = 0;
  if (ct_len > 0) {
    if (EVP_DecryptUpdate(ctx, out, &n, ct, int(ct_len)) != 1) return false;
    written = n;
  }
  // OpenSSL takes a non-const tag pointer but only reads it.
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kSealTag,
                          const_cast<uint8_t*>(ct + ct_len)) != 1) {
    return false;
  }
  return EVP_DecryptFinal_ex(ctx, out + written, &n) == 1;
}

}  // namespace hotsession
