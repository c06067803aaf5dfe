// A slow, obvious model of the per-key record (v2) written from layout.ts's
// text, for the fuzz harnesses to compare record.cc against: std::set for
// distinct keys, a code-point decoder for UTF-8, vectors for the output.
#ifndef HOTSESSION_FUZZ_RECORD_MODEL_H_
#define HOTSESSION_FUZZ_RECORD_MODEL_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "record.h"

namespace model {

inline uint64_t Be(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

// Decodes code points one by one; false on anything but shortest-form
// scalar values (no surrogates, nothing past U+10FFFF).
inline bool ValidUtf8(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] >> 6) != 2) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return false;
    i += len;
  }
  return true;
}

struct View {
  int kind = -1;  // -1: malformed
  uint8_t flags = 0;
  std::vector<hotsession::Entry> entries;
};

inline View Scan(const uint8_t* b, size_t len) {
  View v;
  if (len < 28 || b[0] != 0x68 || b[1] != 2) return v;
  int kind = b[2];
  uint8_t flags = b[3];
  if (kind > 2 || (kind == 2 ? (flags | 1) != 1 : flags != 0)) return v;
  const uint64_t max = (uint64_t(1) << 53) - 1;
  if (Be(b + 4, 8) > max || Be(b + 12, 8) > max) return v;
  uint64_t count = Be(b + 24, 4);
  if (kind == 1) {
    if (count != 0 || len - 28 < 1 || len - 28 > 255) return v;
    for (size_t i = 28; i < len; i++) {
      if (b[i] < 0x21 || b[i] > 0x7e) return v;
    }
    v.kind = kind;
    return v;
  }
  std::set<std::string> seen;
  size_t pos = 28;
  std::vector<hotsession::Entry> entries;
  for (uint64_t i = 0; i < count; i++) {
    if (len - pos < 2) return v;
    size_t klen = size_t(Be(b + pos, 2));
    size_t kat = pos + 2;
    if (len - kat < klen + 4) return v;
    std::string key(reinterpret_cast<const char*>(b + kat), klen);
    if (key == "__proto__" || key == "constructor" || key == "prototype") return v;
    if (!ValidUtf8(b + kat, klen) || !seen.insert(key).second) return v;
    uint64_t vlen = Be(b + kat + klen, 4);
    size_t vat = kat + klen + 4;
    if (vlen == 0xffffffffu) {
      if (kind != 2) return v;
      pos = vat;
    } else {
      if (len - vat < vlen) return v;
      pos = vat + size_t(vlen);
    }
    entries.push_back({uint32_t(kat), uint32_t(klen), uint32_t(vat), uint32_t(vlen)});
  }
  if (pos != len) return v;
  v.kind = kind;
  v.flags = flags;
  v.entries = std::move(entries);
  return v;
}

inline std::string KeyOf(const uint8_t* b, const hotsession::Entry& e) {
  return std::string(reinterpret_cast<const char*>(b + e.key_at), e.key_len);
}

inline void Append(std::vector<uint8_t>* out, const uint8_t* b, const hotsession::Entry& e) {
  size_t end = e.value_len == 0xffffffffu ? e.value_at : e.value_at + e.value_len;
  out->insert(out->end(), b + e.key_at - 2, b + end);
}

inline std::vector<uint8_t> Header(const uint8_t* later, uint8_t kind, uint8_t flags, uint32_t count) {
  std::vector<uint8_t> out = {0x68, 2, kind, flags};
  out.insert(out.end(), later + 4, later + 24);
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(count >> s));
  return out;
}

// The entries of `a` whose key `b` does not name, then `b`'s (without
// DELETEs when `drop`), under `later`'s header.
inline std::vector<uint8_t> Combine(const uint8_t* a, const View* av, const uint8_t* b, const View& bv,
                                    uint8_t kind, uint8_t flags, bool drop) {
  std::set<std::string> named;
  for (const auto& e : bv.entries) named.insert(KeyOf(b, e));
  std::vector<uint8_t> body;
  uint32_t count = 0;
  if (av != nullptr) {
    for (const auto& e : av->entries) {
      if (named.count(KeyOf(a, e)) == 0) Append(&body, a, e), count++;
    }
  }
  for (const auto& e : bv.entries) {
    if (!(drop && e.value_len == 0xffffffffu)) Append(&body, b, e), count++;
  }
  std::vector<uint8_t> out = Header(b, kind, flags, count);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// false when refused.
inline bool Apply(const uint8_t* r, size_t rlen, bool has_record, const uint8_t* p, size_t plen,
                  std::vector<uint8_t>* out) {
  View pv = Scan(p, plen);
  if (pv.kind != 2) return false;
  if (pv.flags & 1) {
    *out = Combine(nullptr, nullptr, p, pv, 0, 0, true);
    return true;
  }
  if (!has_record) return false;
  View rv = Scan(r, rlen);
  if (rv.kind != 0) return false;
  *out = Combine(r, &rv, p, pv, 0, 0, true);
  return true;
}

inline bool Merge(const uint8_t* p1, size_t l1, const uint8_t* p2, size_t l2, std::vector<uint8_t>* out) {
  View v1 = Scan(p1, l1);
  View v2 = Scan(p2, l2);
  if (v1.kind != 2 || v2.kind != 2) return false;
  if (v2.flags & 1) {
    out->assign(p2, p2 + l2);
    return true;
  }
  *out = Combine(p1, &v1, p2, v2, 2, v1.flags, false);
  return true;
}

}  // namespace model

#endif  // HOTSESSION_FUZZ_RECORD_MODEL_H_
