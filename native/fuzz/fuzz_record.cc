// libFuzzer harness: the v2 scanner (record.cc) against the model in
// record_model.h: same verdict, same index, on any bytes; the key set with
// its default probe budget and with none (every collision goes to the sorted
// path) answers the same lookups as a std::set.
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "record.h"
#include "record_model.h"

using namespace hotsession;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exact-size copy so ASan sees any read past the end.
  std::vector<uint8_t> buf(data, data + size);
  const uint8_t* b = buf.data();
  model::View want = model::Scan(b, size);

  std::vector<Entry> index(size / 6 + 1);
  RecordHead head;
  KeySet fair;
  KeySet tight(0, 0);
  int kind = ScanRecord(b, size, &head, index.data(), index.size(), &fair);
  std::vector<Entry> index2(index.size());
  RecordHead head2;
  if (ScanRecord(b, size, &head2, index2.data(), index2.size(), &tight) != kind) abort();
  if (kind != want.kind) abort();
  if (kind < 0) return 0;
  if (head.kind != kind || head.flags != b[3]) abort();
  size_t n = kind == kKindForward ? 0 : head.count;
  if (n != want.entries.size()) abort();
  for (size_t i = 0; i < n; i++) {
    // The scanner's hash of each key is the one lookups compute.
    const Entry& x = index[i];
    if (fair.HashAt(uint32_t(i)) != KeySet::Hash(b + x.key_at, x.key_len)) abort();
    const Entry& y = want.entries[i];
    if (x.key_at != y.key_at || x.key_len != y.key_len || x.value_at != y.value_at ||
        x.value_len != y.value_len || std::memcmp(&index2[i], &x, sizeof x) != 0) {
      abort();
    }
  }
  // An index one entry short is reported as such, before anything is judged.
  if (n > 0 && ScanRecord(b, size, &head2, index2.data(), n - 1, &fair) != kIndexTooSmall) abort();

  // Lookups: every key, and each key with its last byte changed or dropped.
  std::set<std::string> keys;
  for (size_t i = 0; i < n; i++) keys.insert(model::KeyOf(b, index[i]));
  for (size_t i = 0; i < n; i++) {
    std::string k = model::KeyOf(b, index[i]);
    std::vector<std::string> probes = {k, k + "x"};
    if (!k.empty()) {
      probes.push_back(k.substr(0, k.size() - 1));
      probes.push_back(k.substr(0, k.size() - 1) + char(k.back() ^ 1));
    }
    for (const std::string& p : probes) {
      bool in = keys.count(p) != 0;
      const uint8_t* pk = reinterpret_cast<const uint8_t*>(p.data());
      uint32_t len = uint32_t(p.size());
      uint32_t h = KeySet::Hash(pk, len);
      if (fair.Contains(pk, len, h) != in || tight.Contains(pk, len, h) != in) abort();
    }
  }
  return 0;
}
