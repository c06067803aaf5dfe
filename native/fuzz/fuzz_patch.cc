// libFuzzer harness: ApplyPatch and MergePatches (record.cc) against the
// model in record_model.h, byte for byte, plus the laws layout.ts states:
// apply gives a RECORD, merge a PATCH, and apply(apply(r, p1), p2) equals
// apply(r, merge(p1, p2)). The input is r, p1, p2 after a 4-byte prefix:
// two big-endian u16 lengths (of r, then p1); bit 15 of the first passes r
// as absent (null).
#include <cstdlib>
#include <cstring>
#include <vector>

#include "record.h"
#include "record_model.h"

using namespace hotsession;

namespace {

RecordWork work;

// Runs `op` into an exact-size buffer, checking the size report first.
template <typename Op>
bool Run(Op op, std::vector<uint8_t>* out) {
  size_t needed = 0;
  uint8_t none = 0;
  int64_t n = op(&none, 0, &needed);
  if (n == kRefused) return false;
  if (n != kOutTooSmall || needed < kRecordHeader) abort();
  out->assign(needed, 0xa5);
  size_t again = 0;
  if (op(out->data(), needed, &again) != int64_t(needed)) abort();
  // One byte short is reported as too small again, with the same size.
  std::vector<uint8_t> short_out(needed - 1);
  if (op(short_out.data(), needed - 1, &again) != kOutTooSmall || again != needed) abort();
  return true;
}

bool Apply(const std::vector<uint8_t>* r, const std::vector<uint8_t>& p, std::vector<uint8_t>* out) {
  // An empty vector may have no storage; the addon never passes null for a present record.
  static const uint8_t kEmpty = 0;
  const uint8_t* rp = r == nullptr ? nullptr : r->empty() ? &kEmpty : r->data();
  size_t rl = r == nullptr ? 0 : r->size();
  bool ok = Run([&](uint8_t* o, size_t cap, size_t* need) {
    return ApplyPatch(&work, rp, rl, p.data(), p.size(), o, cap, need);
  }, out);
  std::vector<uint8_t> want;
  if (model::Apply(rp, rl, r != nullptr, p.data(), p.size(), &want) != ok) abort();
  if (ok && want != *out) abort();
  if (ok && model::Scan(out->data(), out->size()).kind != kKindRecord) abort();
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  bool absent = (data[0] & 0x80) != 0;
  size_t rest = size - 4;
  size_t rl = (size_t(data[0] & 0x7f) << 8 | data[1]) % (rest + 1);
  size_t l1 = (size_t(data[2]) << 8 | data[3]) % (rest - rl + 1);
  const uint8_t* p = data + 4;
  std::vector<uint8_t> r(p, p + rl);
  std::vector<uint8_t> p1(p + rl, p + rl + l1);
  std::vector<uint8_t> p2(p + rl + l1, data + size);
  const std::vector<uint8_t>* rec = absent ? nullptr : &r;

  std::vector<uint8_t> a1;
  bool ok1 = Apply(rec, p1, &a1);
  std::vector<uint8_t> ignored;
  Apply(rec, p2, &ignored);

  std::vector<uint8_t> m;
  bool merged = Run([&](uint8_t* o, size_t cap, size_t* need) {
    return MergePatches(&work, p1.data(), p1.size(), p2.data(), p2.size(), o, cap, need);
  }, &m);
  std::vector<uint8_t> want;
  if (model::Merge(p1.data(), p1.size(), p2.data(), p2.size(), &want) != merged) abort();
  if (!merged) return 0;
  if (want != m || model::Scan(m.data(), m.size()).kind != kKindPatch) abort();
  // Merge is exact: batching two commits never changes the result.
  std::vector<uint8_t> seq;
  std::vector<uint8_t> once;
  bool s = Apply(ok1 ? &a1 : nullptr, p2, &seq);
  bool o = Apply(rec, m, &once);
  if (s != o || (s && seq != once)) abort();
  return 0;
}
