#include "frame.h"

namespace hotsession {

void WriteFrameHeader(uint8_t* out, uint32_t body_len, uint64_t expires_at,
                      uint64_t created_at) {
  out[0] = kFrameMagic;
  out[1] = kFrameVersion;
  out[2] = 0;  // flags: none defined yet
  out[3] = 0;
  WriteU64(out + 4, expires_at);
  WriteU64(out + 12, created_at);
  WriteU32(out + 20, body_len);
}

bool ReadFrame(const uint8_t* buf, size_t len, uint64_t* expires_at,
               uint64_t* created_at) {
  if (len < kFrameHeader || buf[0] != kFrameMagic || buf[1] != kFrameVersion ||
      buf[2] != 0 || buf[3] != 0) {
    return false;
  }
  uint64_t e = ReadU64(buf + 4);
  uint64_t c = ReadU64(buf + 12);
  if (e > kMaxTime || c > kMaxTime) return false;
  if (ReadU32(buf + 20) != len - kFrameHeader) return false;
  *expires_at = e;
  *created_at = c;
  return true;
}

}  // namespace hotsession
