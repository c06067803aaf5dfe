// Cookie header lookup with the `cookie` package's (0.7) parse rules, the
// same rules as src/codec/cookie-header.ts. Works on the header's UTF-8
// bytes; callers hand non-ASCII values back to the JS path (see FindCookie).
#ifndef HOTSESSION_COOKIE_H_
#define HOTSESSION_COOKIE_H_

#include <cstddef>
#include <cstdint>

namespace hotsession {

enum class Found {
  kAbsent,   // no pair with that name
  kValue,    // [*start, *start + *len) is the raw value, quotes already removed
  kNonAscii  // the value has bytes >= 0x80: UTF-16 semantics needed, use JS
};

// First occurrence of `name` in `header`, trimmed of spaces and tabs, with one
// pair of surrounding double quotes removed.
Found FindCookie(const uint8_t* header, size_t len, const uint8_t* name,
                 size_t name_len, size_t* start, size_t* value_len);

// decodeURIComponent over ASCII input: writes at most `len` bytes to `out`
// (which may alias `in`). Returns the decoded length, or -1 where
// decodeURIComponent would throw (bad escape, invalid or overlong UTF-8,
// surrogate, beyond U+10FFFF).
long PercentDecode(const uint8_t* in, size_t len, uint8_t* out);

}  // namespace hotsession

#endif  // HOTSESSION_COOKIE_H_
