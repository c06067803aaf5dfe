// The per-key record (v2): scanner, apply and merge. The layout and the rules
// are in src/codec/layout.ts; src/codec/record.ts is the reference these
// functions must match on every input (same accept/reject answer, same index,
// same output bytes). No N-API here, so the fuzz harnesses link it as is.
#ifndef HOTSESSION_RECORD_H_
#define HOTSESSION_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hotsession {

constexpr uint8_t kRecordVersion = 2;
constexpr size_t kRecordHeader = 28;
constexpr uint8_t kKindRecord = 0;
constexpr uint8_t kKindForward = 1;
constexpr uint8_t kKindPatch = 2;
constexpr uint8_t kFlagClear = 1;
// valueLen of a patch entry that deletes its key.
constexpr uint32_t kDelete = 0xffffffffu;

// One entry as RecordView.index holds it (4 u32 per entry, host order, like a
// Uint32Array), so the scanner writes straight into the caller's index.
struct Entry {
  uint32_t key_at;
  uint32_t key_len;
  uint32_t value_at;
  uint32_t value_len;  // kDelete for a deletion (patches only)
};
static_assert(sizeof(Entry) == 16, "Entry must be 4 packed u32");

// Distinct-key checks and key lookups over one scanned buffer, in time linear
// in its key bytes on typical input and O(n log n) comparisons on any input:
// an open-addressing hash table that gives up for a sorted array (binary
// search) once its probes pass a budget, so crafted collisions cannot make it
// quadratic. The scanner hashes each key while it reads it for the UTF-8
// check, so no key is read twice. Reused between calls (see RecordWork).
class KeySet {
 public:
  // Probes a build or the lookups after it may spend beyond one per key:
  // `per_key` * n + `slack`. The defaults are never reached by a fair hash;
  // the fuzzer also runs a zero budget so that the sorted path gets its share.
  explicit KeySet(uint32_t per_key = 4, uint32_t slack = 64) : per_key_(per_key), slack_(slack) {}

  // The hash of key bytes p[0, n), as the scanner computes it.
  static uint32_t Hash(const uint8_t* p, uint32_t n);
  // Room for the hashes of n keys, which the caller fills before Build.
  uint32_t* Hashes(uint32_t n);
  // Indexes the keys of `entries` (hashes already in Hashes()). False when
  // two keys are equal.
  bool Build(const uint8_t* buf, const Entry* entries, uint32_t n);
  // True when `key` (whose Hash is `hash`) is one of the keys Build indexed.
  bool Contains(const uint8_t* key, uint32_t len, uint32_t hash);
  // The hash of entry i's key.
  uint32_t HashAt(uint32_t i) const { return key_hash_[i]; }
  // Drops storage that one huge buffer made large.
  void Trim();

 private:
  bool BuildSorted();
  bool FindSorted(const uint8_t* key, uint32_t len) const;
  bool Same(uint32_t i, const uint8_t* key, uint32_t len) const;

  uint32_t per_key_;
  uint32_t slack_;
  const uint8_t* buf_ = nullptr;
  const Entry* entries_ = nullptr;
  uint32_t n_ = 0;
  enum class Mode { kLinear, kHash, kSorted } mode_ = Mode::kLinear;
  uint32_t mask_ = 0;
  // Query probes left before the table is traded for the sorted array.
  uint64_t budget_ = 0;
  std::vector<uint32_t> key_hash_;  // per entry
  std::vector<uint32_t> slots_;     // entry index + 1, 0 = empty
  std::vector<uint32_t> sorted_;    // entry indexes ordered by (length, bytes)
};

// What a scan found in the fixed header.
struct RecordHead {
  uint8_t kind;
  uint8_t flags;
  uint64_t expires_at;
  uint64_t created_at;
  uint32_t name_tag;
  uint32_t count;
};

// Result codes of ScanRecord besides a kind (0..2).
constexpr int kMalformed = -1;
constexpr int kIndexTooSmall = -2;

// Scans buf[0, len) as scanRecord does. On success returns the kind, fills
// `head` and writes `head->count` entries to `index` (FORWARD: none; its
// target is buf[kRecordHeader, len)). kIndexTooSmall when the header's count
// (already checked against len) does not fit `cap` entries: nothing was
// judged yet. `keys` is left indexing the entries' keys (for Contains).
int ScanRecord(const uint8_t* buf, size_t len, RecordHead* head, Entry* index, size_t cap,
               KeySet* keys);

// Scratch memory of ApplyPatch and MergePatches, reused between calls: one
// per thread that calls them (the addon keeps one per Node environment, so
// worker threads never share one).
struct RecordWork {
  std::vector<Entry> a;
  std::vector<Entry> b;
  KeySet ka;
  KeySet kb;
  std::vector<uint8_t> kept;
  // Gives back what one huge input made large.
  void Trim();
};

// Result of ApplyPatch / MergePatches: bytes written to `out`, or one of these.
constexpr int64_t kRefused = -1;      // malformed, or the patch cannot apply (see applyPatch)
constexpr int64_t kOutTooSmall = -2;  // `*needed` holds the exact output size

// applyPatch(record, patch) into out[0, cap); `record` may be null (absent).
// The output is never larger than record_len + patch_len.
int64_t ApplyPatch(RecordWork* work, const uint8_t* record, size_t record_len, const uint8_t* patch,
                   size_t patch_len, uint8_t* out, size_t cap, size_t* needed);

// mergePatches(p1, p2) into out[0, cap). Never larger than p1_len + p2_len.
int64_t MergePatches(RecordWork* work, const uint8_t* p1, size_t p1_len, const uint8_t* p2,
                     size_t p2_len, uint8_t* out, size_t cap, size_t* needed);

}  // namespace hotsession

#endif  // HOTSESSION_RECORD_H_
