#include "cookie.h"

#include <cstring>

namespace hotsession {

namespace {

inline bool IsBlank(uint8_t c) { return c == 0x20 || c == 0x09; }

inline size_t SkipStart(const uint8_t* s, size_t start, size_t end) {
  while (start < end && IsBlank(s[start])) start++;
  return start;
}

inline size_t SkipEnd(const uint8_t* s, size_t end, size_t start) {
  while (end > start && IsBlank(s[end - 1])) end--;
  return end;
}

inline const uint8_t* Find(const uint8_t* s, size_t from, size_t len, uint8_t c) {
  return static_cast<const uint8_t*>(std::memchr(s + from, c, len - from));
}

inline int Hex(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte encoded by "%XY" at in[i], or -1.
inline int Escape(const uint8_t* in, size_t len, size_t i) {
  if (i + 2 >= len || in[i] != '%') return -1;
  int hi = Hex(in[i + 1]);
  int lo = Hex(in[i + 2]);
  return (hi < 0 || lo < 0) ? -1 : (hi << 4) | lo;
}

}  // namespace

Found FindCookie(const uint8_t* s, size_t len, const uint8_t* name,
                 size_t name_len, size_t* start, size_t* value_len) {
  // RFC 6265 needs one name character and '=': the cookie package gives up below 2.
  if (len < 2) return Found::kAbsent;
  size_t index = 0;
  while (index < len) {
    const uint8_t* eq_p = Find(s, index, len, '=');
    if (eq_p == nullptr) return Found::kAbsent;
    size_t eq = size_t(eq_p - s);
    const uint8_t* semi_p = Find(s, index, len, ';');
    size_t end = semi_p == nullptr ? len : size_t(semi_p - s);
    if (eq > end) {
      // A pair without '=': resume after the last ';' before the next '='.
      size_t back = eq;
      while (back > index && s[back - 1] != ';') back--;
      index = back;
      continue;
    }
    size_t key_start = SkipStart(s, index, eq);
    size_t key_end = SkipEnd(s, eq, key_start);
    if (key_end - key_start == name_len &&
        (name_len == 0 || std::memcmp(s + key_start, name, name_len) == 0)) {
      size_t val_start = SkipStart(s, eq + 1, end);
      size_t val_end = SkipEnd(s, end, val_start);
      // Mirrors the JS check exactly: a lone '"' counts as both quotes and
      // leaves an empty value.
      if (val_end > val_start && s[val_start] == '"' && s[val_end - 1] == '"') {
        if (val_end - val_start == 1) {
          val_end = val_start;
        } else {
          val_start++;
          val_end--;
        }
      }
      for (size_t i = val_start; i < val_end; i++) {
        if (s[i] >= 0x80) return Found::kNonAscii;
      }
      *start = val_start;
      *value_len = val_end - val_start;
      return Found::kValue;
    }
    index = end + 1;
  }
  return Found::kAbsent;
}

long PercentDecode(const uint8_t* in, size_t len, uint8_t* out) {
  size_t o = 0;
  size_t i = 0;
  while (i < len) {
    uint8_t c = in[i];
    if (c != '%') {
      out[o++] = c;
      i++;
      continue;
    }
    int b = Escape(in, len, i);
    if (b < 0) return -1;
    i += 3;
    if (b < 0x80) {
      out[o++] = uint8_t(b);
      continue;
    }
    int n;
    uint32_t cp;
    uint32_t min;
    if ((b & 0xe0) == 0xc0) {
      n = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      n = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      n = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return -1;  // a continuation byte or 0xf8.. cannot start a sequence
    }
    uint8_t bytes[4] = {uint8_t(b), 0, 0, 0};
    for (int j = 1; j < n; j++) {
      int cb = Escape(in, len, i);
      if (cb < 0 || (cb & 0xc0) != 0x80) return -1;
      bytes[j] = uint8_t(cb);
      cp = (cp << 6) | (cb & 0x3f);
      i += 3;
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
    // not UTF-8, and decodeURIComponent throws on them.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return -1;
    for (int j = 0; j < n; j++) out[o++] = bytes[j];
  }
  return long(o);
}

}  // namespace hotsession
