// libFuzzer harness: the header walk, percent-decoding and signature check
// that Signer::extract runs, on arbitrary bytes. The first byte picks the
// cookie name length so names themselves get fuzzed too.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cookie.h"
#include "hmac.h"

using namespace hotsession;

static const KeyRing& Ring() {
  static KeyRing* ring = [] {
    auto* r = new KeyRing();
    r->Add(reinterpret_cast<const uint8_t*>("keyboard cat"), 12);
    r->Add(reinterpret_cast<const uint8_t*>("old"), 3);
    return r;
  }();
  return *ring;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint8_t kName[] = "connect.sid";
  const uint8_t* name = kName;
  size_t name_len = sizeof kName - 1;
  if (size > 0 && data[0] < 16) {
    // Name taken from the input: exact-size copy so ASan sees any over-read.
    name_len = data[0] < size - 1 ? data[0] : size - 1;
    name = data + 1;
    data += 1 + name_len;
    size -= 1 + name_len;
  }
  std::vector<uint8_t> header(data, data + size);
  size_t start = 0;
  size_t len = 0;
  if (FindCookie(header.data(), header.size(), name, name_len, &start, &len) != Found::kValue) {
    return 0;
  }
  if (start + len > size) abort();
  std::vector<uint8_t> value(header.begin() + start, header.begin() + start + len);
  std::vector<uint8_t> out(len);
  long d = PercentDecode(value.data(), value.size(), out.data());
  if (d > long(len)) abort();
  const uint8_t* v = d >= 0 ? out.data() : value.data();
  size_t vlen = d >= 0 ? size_t(d) : len;
  if (vlen >= 2 && v[0] == 's' && v[1] == ':') {
    long id = Ring().Unsign(v + 2, vlen - 2);
    if (id > long(vlen - 2)) abort();
  }
  // In-place decoding (out aliasing in) must give the same bytes.
  long d2 = PercentDecode(value.data(), value.size(), value.data());
  if (d2 != d || (d > 0 && std::memcmp(value.data(), out.data(), size_t(d)) != 0)) abort();
  return 0;
}
