// Record frame and sealed-envelope layouts; see src/codec/layout.ts for the
// diagrams. Both codecs must agree byte for byte.
#ifndef HOTSESSION_FRAME_H_
#define HOTSESSION_FRAME_H_

#include <cstddef>
#include <cstdint>

namespace hotsession {

constexpr uint8_t kFrameMagic = 0x68;
constexpr uint8_t kFrameVersion = 1;
constexpr size_t kFrameHeader = 24;
// 2^53 - 1: the largest time a JS number carries exactly.
constexpr uint64_t kMaxTime = (uint64_t(1) << 53) - 1;

inline uint64_t ReadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

inline void WriteU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = uint8_t(v);
}

inline uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

inline void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

// Writes the 24-byte header; the body follows it. Caller checked the times.
void WriteFrameHeader(uint8_t* out, uint32_t body_len, uint64_t expires_at,
                      uint64_t created_at);

// True when buf[0, len) is exactly one well-formed frame (body starts at
// kFrameHeader and runs to the end).
bool ReadFrame(const uint8_t* buf, size_t len, uint64_t* expires_at,
               uint64_t* created_at);

}  // namespace hotsession

#endif  // HOTSESSION_FRAME_H_
