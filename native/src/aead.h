// AES-256-GCM envelope with a key ring (layout in src/codec/layout.ts).
// Each key keeps its own initialised EVP contexts, so a call only sets the
// nonce: no key schedule and no allocation per seal or open.
#ifndef HOTSESSION_AEAD_H_
#define HOTSESSION_AEAD_H_

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hotsession {

constexpr uint8_t kSealVersion = 1;
constexpr size_t kSealHeader = 13;
constexpr size_t kSealNonce = 12;
constexpr size_t kSealTag = 16;
constexpr size_t kSealOverhead = kSealHeader + kSealNonce + kSealTag;

class AeadRing {
 public:
  AeadRing() = default;
  ~AeadRing();
  AeadRing(const AeadRing&) = delete;
  AeadRing& operator=(const AeadRing&) = delete;

  // `key` is 32 bytes. False on an OpenSSL failure or a duplicate id.
  bool Add(const uint8_t key[32], uint32_t id);
  size_t size() const { return keys_.size(); }

  // Writes kSealOverhead + pt_len bytes to `out` with the given nonce (the
  // caller draws it from RAND_bytes; tests and fuzzing pass fixed ones).
  bool Seal(const uint8_t* pt, size_t pt_len, uint64_t expires_at,
            const uint8_t* aad, size_t aad_len, const uint8_t nonce[kSealNonce],
            uint8_t* out) const;

  // Plaintext length of a structurally valid envelope with a known key id,
  // or -1; Open() then needs that many bytes at `out`.
  long Check(const uint8_t* env, size_t len, uint64_t* expires_at) const;
  bool Open(const uint8_t* env, size_t len, const uint8_t* aad, size_t aad_len,
            uint8_t* out) const;

 private:
  struct Key {
    uint32_t id;
    EVP_CIPHER_CTX* enc;
    EVP_CIPHER_CTX* dec;
  };
  const Key* Lookup(uint32_t id) const;
  std::vector<Key> keys_;
};

}  // namespace hotsession

#endif  // HOTSESSION_AEAD_H_
