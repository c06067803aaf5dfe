// libFuzzer harness: AES-256-GCM envelope parsing and opening with a key
// ring, plus a seal/open round trip of the input as plaintext. The first
// byte splits off an aad.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "aead.h"
#include "frame.h"

using namespace hotsession;

static const AeadRing& Ring() {
  static AeadRing* ring = [] {
    auto* r = new AeadRing();
    uint8_t k1[32];
    uint8_t k2[32];
    for (int i = 0; i < 32; i++) k1[i] = uint8_t(i), k2[i] = uint8_t(255 - i);
    // Ids that fuzzed input hits easily, so the decrypt path runs too.
    if (!r->Add(k1, 0x00000000) || !r->Add(k2, 0x01010101)) abort();
    return r;
  }();
  return *ring;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const AeadRing& ring = Ring();
  size_t aad_len = size > 0 ? data[0] % 8 : 0;
  if (aad_len + 1 > size) aad_len = 0;
  std::vector<uint8_t> aad(data + (size > 0 ? 1 : 0), data + (size > 0 ? 1 : 0) + aad_len);
  size_t skip = size > 0 ? 1 + aad_len : 0;
  std::vector<uint8_t> env(data + skip, data + size);

  uint64_t e = 0;
  long pt_len = ring.Check(env.data(), env.size(), &e);
  if (pt_len >= 0) {
    if (size_t(pt_len) + kSealOverhead != env.size() || e > kMaxTime) abort();
    std::vector<uint8_t> out(static_cast<size_t>(pt_len));
    uint8_t dummy = 0;
    // Random bytes never carry a valid tag; a success here is a forgery.
    if (ring.Open(env.data(), env.size(), aad.data(), aad.size(), pt_len ? out.data() : &dummy)) abort();
  }

  static const uint8_t kNonce[kSealNonce] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<uint8_t> sealed(env.size() + kSealOverhead);
  if (!ring.Seal(env.data(), env.size(), 42, aad.data(), aad.size(), kNonce, sealed.data())) abort();
  std::vector<uint8_t> back(env.size());
  uint8_t dummy = 0;
  if (!ring.Open(sealed.data(), sealed.size(), aad.data(), aad.size(), env.empty() ? &dummy : back.data())) abort();
  if (!env.empty() && std::memcmp(back.data(), env.data(), env.size()) != 0) abort();
  if (!sealed.empty()) {
    sealed[size % sealed.size()] ^= 0x20;
    if (ring.Open(sealed.data(), sealed.size(), aad.data(), aad.size(), env.empty() ? &dummy : back.data())) abort();
  }
  return 0;
}
