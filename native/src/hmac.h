// HMAC-SHA256 with the key state precomputed, and the cookie-signature
// comparison built on it. Independent of N-API so the fuzz harness links it.
#ifndef HOTSESSION_HMAC_H_
#define HOTSESSION_HMAC_H_

#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hotsession {

// Length of an unpadded base64 HMAC-SHA256 (32 bytes -> 43 characters).
constexpr size_t kSigLen = 43;

// One secret's HMAC state after the inner and outer padded key blocks, so a
// MAC over a short message costs two compressions and no key work.
class HmacKey {
 public:
  HmacKey(const uint8_t* key, size_t len);
  ~HmacKey();
  HmacKey(const HmacKey&) = default;
  HmacKey& operator=(const HmacKey&) = default;

  void Mac(const uint8_t* msg, size_t len, uint8_t out[32]) const;
  // Writes the 43 base64 characters cookie-signature appends after the dot.
  void Sign(const uint8_t* msg, size_t len, char out[kSigLen]) const;

 private:
  SHA256_CTX inner_;
  SHA256_CTX outer_;
};

// A secret list: the first signs, every one verifies.
class KeyRing {
 public:
  void Add(const uint8_t* key, size_t len) { keys_.emplace_back(key, len); }
  size_t size() const { return keys_.size(); }
  void Sign(const uint8_t* msg, size_t len, char out[kSigLen]) const {
    keys_.front().Sign(msg, len, out);
  }
  // Checks `value.sig` (given as bytes) against every secret without stopping
  // at the first match. Returns the length of `value`, or -1 when forged.
  long Unsign(const uint8_t* signed_value, size_t len) const;

 private:
  std::vector<HmacKey> keys_;
};

}  // namespace hotsession

#endif  // HOTSESSION_HMAC_H_
