// libFuzzer harness: record frame parsing. Anything accepted must re-encode
// to exactly the input header.
#include <cstdlib>
#include <cstring>

#include "frame.h"

using namespace hotsession;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t e = 0;
  uint64_t c = 0;
  if (!ReadFrame(data, size, &e, &c)) return 0;
  if (size < kFrameHeader || e > kMaxTime || c > kMaxTime) abort();
  uint8_t header[kFrameHeader];
  WriteFrameHeader(header, uint32_t(size - kFrameHeader), e, c);
  if (std::memcmp(header, data, kFrameHeader) != 0) abort();
  return 0;
}
