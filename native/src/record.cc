#include "record.h"

#include <algorithm>
#include <cstring>

#include "frame.h"

namespace hotsession {
namespace {

// Up to this many keys, comparing every pair's hashes is cheaper than a
// table: at most 28 pairs, each one u32 compare.
constexpr uint32_t kLinearKeys = 8;
constexpr uint64_t kHigh = 0x8080808080808080ull;
constexpr uint64_t kK0 = 0xa0761d6478bd642full;
constexpr uint64_t kK1 = 0xe7037ed1a0b428dbull;

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 128-bit product of a and b, folded to 64 bits.
inline uint64_t Mix(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
  __uint128_t m = __uint128_t(a) * b;
  return uint64_t(m) ^ uint64_t(m >> 64);
#else
  // MSVC has no 128-bit integer: the same product from 32-bit halves.
  uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
  uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  uint64_t lo = (mid << 32) | (ll & 0xffffffffu);
  uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  return lo ^ hi;
#endif
}

// One read of a key's bytes gives both its hash (wyhash-style: overlapping
// word loads, one multiply per 16 bytes) and whether it is all ASCII, which
// most keys are. The hash need not resist crafted collisions: KeySet's probe
// budget turns any pile-up into an O(n log n) sort.
inline uint32_t HashKey(const uint8_t* p, uint32_t n, bool* ascii) {
  uint64_t a;
  uint64_t b;
  if (n <= 16) {
    if (n >= 8) {
      a = Load64(p), b = Load64(p + n - 8);
    } else if (n >= 4) {
      a = Load32(p), b = Load32(p + n - 4);
    } else if (n > 0) {
      // Each byte in a lane of its own, so the high-bit test sees all three.
      a = uint64_t(p[0]) | (uint64_t(p[n >> 1]) << 8) | (uint64_t(p[n - 1]) << 16), b = 0;
    } else {
      a = b = 0;
    }
    *ascii = ((a | b) & kHigh) == 0;
  } else {
    uint64_t h = kK0 ^ n;
    uint64_t seen = 0;
    for (size_t i = 0; i + 16 < n; i += 16) {
      uint64_t x = Load64(p + i);
      uint64_t y = Load64(p + i + 8);
      seen |= x | y;
      h = Mix(x ^ kK1, y ^ h);
    }
    a = Load64(p + n - 16), b = Load64(p + n - 8);
    *ascii = ((seen | a | b) & kHigh) == 0;
    a ^= h;
  }
  return uint32_t(Mix(a ^ kK1 ^ n, b ^ kK0));
}

bool IsForbidden(const uint8_t* k, uint32_t len) {
  if (len == 9) return std::memcmp(k, "__proto__", 9) == 0 || std::memcmp(k, "prototype", 9) == 0;
  return len == 11 && std::memcmp(k, "constructor", 11) == 0;
}

// Strict UTF-8 exactly as record.ts's isUtf8: no overlongs, no surrogates,
// nothing past U+10FFFF. Only keys with a byte >= 0x80 get here.
bool IsUtf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t min;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      k = 1, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      k = 2, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + k >= n) return false;
    for (size_t j = 1; j <= k; j++) {
      uint8_t d = p[i + j];
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

}  // namespace

uint32_t KeySet::Hash(const uint8_t* p, uint32_t n) {
  bool ascii;
  return HashKey(p, n, &ascii);
}

uint32_t* KeySet::Hashes(uint32_t n) {
  if (key_hash_.size() < n) key_hash_.resize(n);
  return key_hash_.data();
}

bool KeySet::Same(uint32_t i, const uint8_t* key, uint32_t len) const {
  return entries_[i].key_len == len && std::memcmp(buf_ + entries_[i].key_at, key, len) == 0;
}

bool KeySet::Build(const uint8_t* buf, const Entry* entries, uint32_t n) {
  buf_ = buf;
  entries_ = entries;
  n_ = n;
  const uint32_t* hash = key_hash_.data();
  if (n <= kLinearKeys) {
    mode_ = Mode::kLinear;
    for (uint32_t i = 1; i < n; i++) {
      for (uint32_t j = 0; j < i; j++) {
        if (hash[i] == hash[j] && Same(j, buf + entries[i].key_at, entries[i].key_len)) return false;
      }
    }
    return true;
  }
  mode_ = Mode::kHash;
  size_t cap = 32;
  while (cap < size_t(n) * 2) cap <<= 1;
  mask_ = uint32_t(cap - 1);
  if (slots_.size() < cap) slots_.resize(cap);
  std::memset(slots_.data(), 0, cap * sizeof(uint32_t));
  // At load <= 1/2 a fair hash needs about n/2 extra probes in all; the
  // default 4n + 64 is only ever reached by collisions somebody arranged.
  uint64_t budget = uint64_t(n) * per_key_ + slack_;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t h = hash[i];
    uint32_t pos = h & mask_;
    while (slots_[pos] != 0) {
      uint32_t j = slots_[pos] - 1;
      if (hash[j] == h && Same(j, buf + entries[i].key_at, entries[i].key_len)) return false;
      if (budget-- == 0) return BuildSorted();
      pos = (pos + 1) & mask_;
    }
    slots_[pos] = i + 1;
  }
  budget_ = uint64_t(n) * per_key_ + slack_;
  return true;
}

bool KeySet::BuildSorted() {
  mode_ = Mode::kSorted;
  sorted_.resize(n_);
  for (uint32_t i = 0; i < n_; i++) sorted_[i] = i;
  const uint8_t* buf = buf_;
  const Entry* e = entries_;
  std::sort(sorted_.begin(), sorted_.end(), [buf, e](uint32_t x, uint32_t y) {
    if (e[x].key_len != e[y].key_len) return e[x].key_len < e[y].key_len;
    return std::memcmp(buf + e[x].key_at, buf + e[y].key_at, e[x].key_len) < 0;
  });
  for (uint32_t i = 1; i < n_; i++) {
    const Entry& x = e[sorted_[i - 1]];
    if (Same(sorted_[i], buf + x.key_at, x.key_len)) return false;
  }
  return true;
}

bool KeySet::FindSorted(const uint8_t* key, uint32_t len) const {
  size_t lo = 0;
  size_t hi = n_;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const Entry& e = entries_[sorted_[mid]];
    int c = e.key_len != len ? (e.key_len < len ? -1 : 1) : std::memcmp(buf_ + e.key_at, key, len);
    if (c == 0) return true;
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return false;
}

bool KeySet::Contains(const uint8_t* key, uint32_t len, uint32_t hash) {
  const uint32_t* hashes = key_hash_.data();
  switch (mode_) {
    case Mode::kLinear:
      for (uint32_t i = 0; i < n_; i++) {
        if (hashes[i] == hash && Same(i, key, len)) return true;
      }
      return false;
    case Mode::kSorted:
      return FindSorted(key, len);
    case Mode::kHash:
      break;
  }
  // Each lookup earns one probe of allowance; lookups steered into one long
  // cluster spend the budget and switch the set to binary search.
  budget_++;
  uint32_t pos = hash & mask_;
  while (slots_[pos] != 0) {
    uint32_t j = slots_[pos] - 1;
    if (hashes[j] == hash && Same(j, key, len)) return true;
    if (budget_-- == 0) {
      BuildSorted();  // the keys are already known to be distinct
      return FindSorted(key, len);
    }
    pos = (pos + 1) & mask_;
  }
  return false;
}

void KeySet::Trim() {
  constexpr size_t kKeep = 1 << 14;
  if (key_hash_.capacity() > kKeep) std::vector<uint32_t>().swap(key_hash_);
  if (slots_.capacity() > kKeep) std::vector<uint32_t>().swap(slots_);
  if (sorted_.capacity() > kKeep) std::vector<uint32_t>().swap(sorted_);
  mode_ = Mode::kLinear;
  n_ = 0;
}

int ScanRecord(const uint8_t* b, size_t len, RecordHead* head, Entry* index, size_t cap,
               KeySet* keys) {
  if (len < kRecordHeader || b[0] != kFrameMagic || b[1] != kRecordVersion) return kMalformed;
  uint8_t kind = b[2];
  uint8_t flags = b[3];
  if (kind == kKindPatch ? (flags & ~kFlagClear) != 0 : (flags != 0 || kind > kKindPatch)) {
    return kMalformed;
  }
  uint64_t expires_at = ReadU64(b + 4);
  uint64_t created_at = ReadU64(b + 12);
  if (expires_at > kMaxTime || created_at > kMaxTime) return kMalformed;
  uint32_t count = ReadU32(b + 24);
  head->kind = kind;
  head->flags = flags;
  head->expires_at = expires_at;
  head->created_at = created_at;
  head->name_tag = ReadU32(b + 20);
  head->count = count;
  if (kind == kKindForward) {
    size_t n = len - kRecordHeader;
    if (count != 0 || n < 1 || n > 255) return kMalformed;
    for (size_t i = kRecordHeader; i < len; i++) {
      if (b[i] < 0x21 || b[i] > 0x7e) return kMalformed;
    }
    return kind;
  }
  // Every entry takes at least 6 bytes: a larger count is a lie.
  if (uint64_t(count) * 6 > len - kRecordHeader) return kMalformed;
  if (count > cap) return kIndexTooSmall;
  uint32_t* hashes = keys->Hashes(count);
  size_t pos = kRecordHeader;
  for (uint32_t i = 0; i < count; i++) {
    if (pos + 2 > len) return kMalformed;
    uint32_t klen = (uint32_t(b[pos]) << 8) | b[pos + 1];
    size_t kat = pos + 2;
    if (kat + klen + 4 > len) return kMalformed;
    const uint8_t* key = b + kat;
    bool ascii;
    hashes[i] = HashKey(key, klen, &ascii);
    if ((!ascii && !IsUtf8(key, klen)) || IsForbidden(key, klen)) return kMalformed;
    uint32_t vlen = ReadU32(key + klen);
    size_t vat = kat + klen + 4;
    if (vlen == kDelete) {
      if (kind != kKindPatch) return kMalformed;
      pos = vat;
    } else {
      if (uint64_t(vat) + vlen > len) return kMalformed;
      pos = vat + vlen;
    }
    // Offsets wrap at 2^32 exactly as the reference's Uint32Array stores them.
    // Four plain stores: GCC otherwise assembles the Entry in a vector register.
    Entry& e = index[i];
    e.key_at = uint32_t(kat);
    e.key_len = klen;
    e.value_at = uint32_t(vat);
    e.value_len = vlen;
  }
  if (pos != len) return kMalformed;
  if (!keys->Build(b, index, count)) return kMalformed;
  return kind;
}

namespace {

// ScanRecord into a scratch index sized from the header's (bounded) count.
int ScanInto(const uint8_t* buf, size_t len, RecordHead* head, std::vector<Entry>* index,
             KeySet* keys) {
  size_t want = 0;
  if (len >= kRecordHeader) {
    uint64_t c = ReadU32(buf + 24);
    if (c * 6 <= len - kRecordHeader) want = size_t(c);
  }
  if (index->size() < want) index->resize(want);
  return ScanRecord(buf, len, head, index->data(), index->size(), keys);
}

size_t EntrySize(const Entry& e) {
  return 6 + size_t(e.key_len) + (e.value_len == kDelete ? 0 : size_t(e.value_len));
}

// Copies the entries i < n with take(i) from src to out + *at, adjacent ones
// (as unchanged keys of a record are) as one memcpy.
template <typename Take>
void CopyRuns(uint8_t* out, size_t* at, const uint8_t* src, const Entry* e, uint32_t n, Take take) {
  size_t start = 0;
  size_t end = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!take(i)) continue;
    size_t s = size_t(e[i].key_at) - 2;
    if (s != end) {
      std::memcpy(out + *at, src + start, end - start);
      *at += end - start;
      start = s;
    }
    end = s + EntrySize(e[i]);
  }
  std::memcpy(out + *at, src + start, end - start);
  *at += end - start;
}

// The entries of `a` whose key `b` does not name (in order), then `b`'s
// entries, without its DELETEs when `drop_deletes`: record.ts's combine().
// `akeys` holds the hashes of a's keys, `bkeys` indexes b's.
int64_t Combine(std::vector<uint8_t>* marks, const uint8_t* a, const Entry* ai, uint32_t an,
                const KeySet& akeys, const uint8_t* b, const Entry* bi, uint32_t bn, KeySet* bkeys,
                uint8_t kind, uint8_t flags, bool drop_deletes, uint8_t* out, size_t cap,
                size_t* needed) {
  std::vector<uint8_t>& kept = *marks;
  if (kept.size() < an) kept.resize(an);
  size_t size = kRecordHeader;
  uint64_t count = 0;
  for (uint32_t i = 0; i < an; i++) {
    bool keep = !bkeys->Contains(a + ai[i].key_at, ai[i].key_len, akeys.HashAt(i));
    kept[i] = keep;
    if (keep) {
      size += EntrySize(ai[i]);
      count++;
    }
  }
  for (uint32_t j = 0; j < bn; j++) {
    if (!(drop_deletes && bi[j].value_len == kDelete)) {
      size += EntrySize(bi[j]);
      count++;
    }
  }
  if (size > cap) {
    *needed = size;
    return kOutTooSmall;
  }
  out[0] = kFrameMagic;
  out[1] = kRecordVersion;
  out[2] = kind;
  out[3] = flags;
  // expiresAt, createdAt and nameTag come from the later buffer (the patch).
  std::memcpy(out + 4, b + 4, 20);
  WriteU32(out + 24, uint32_t(count));
  size_t at = kRecordHeader;
  if (an > 0) CopyRuns(out, &at, a, ai, an, [&](uint32_t i) { return kept[i] != 0; });
  CopyRuns(out, &at, b, bi, bn, [&](uint32_t j) { return !(drop_deletes && bi[j].value_len == kDelete); });
  return int64_t(at);
}

}  // namespace

int64_t ApplyPatch(RecordWork* s, const uint8_t* record, size_t record_len, const uint8_t* patch,
                   size_t patch_len, uint8_t* out, size_t cap, size_t* needed) {
  RecordHead ph;
  if (ScanInto(patch, patch_len, &ph, &s->b, &s->kb) != kKindPatch) return kRefused;
  if ((ph.flags & kFlagClear) != 0) {
    return Combine(&s->kept, nullptr, nullptr, 0, s->ka, patch, s->b.data(), ph.count, &s->kb,
                   kKindRecord, 0, true, out, cap, needed);
  }
  RecordHead rh;
  if (record == nullptr || ScanInto(record, record_len, &rh, &s->a, &s->ka) != kKindRecord) {
    return kRefused;
  }
  return Combine(&s->kept, record, s->a.data(), rh.count, s->ka, patch, s->b.data(), ph.count,
                 &s->kb, kKindRecord, 0, true, out, cap, needed);
}

int64_t MergePatches(RecordWork* s, const uint8_t* p1, size_t p1_len, const uint8_t* p2,
                     size_t p2_len, uint8_t* out, size_t cap, size_t* needed) {
  RecordHead h1;
  RecordHead h2;
  if (ScanInto(p1, p1_len, &h1, &s->a, &s->ka) != kKindPatch) return kRefused;
  if (ScanInto(p2, p2_len, &h2, &s->b, &s->kb) != kKindPatch) return kRefused;
  if ((h2.flags & kFlagClear) != 0) {
    if (p2_len > cap) {
      *needed = p2_len;
      return kOutTooSmall;
    }
    std::memcpy(out, p2, p2_len);
    return int64_t(p2_len);
  }
  return Combine(&s->kept, p1, s->a.data(), h1.count, s->ka, p2, s->b.data(), h2.count, &s->kb,
                 kKindPatch, h1.flags, false, out, cap, needed);
}

void RecordWork::Trim() {
  constexpr size_t kKeep = 1 << 12;
  if (a.capacity() > kKeep) std::vector<Entry>().swap(a);
  if (b.capacity() > kKeep) std::vector<Entry>().swap(b);
  if (kept.capacity() > kKeep * 16) std::vector<uint8_t>().swap(kept);
  ka.Trim();
  kb.Trim();
}

}  // namespace hotsession
