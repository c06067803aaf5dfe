// N-API surface of the addon. The JS wrapper (src/codec/native.ts) validates
// every argument's type first; this layer still checks what it reads, because
// a wrong type here would be a crash rather than an exception.
//
// Strings cross as UTF-8 into a per-object scratch buffer. A result of
// `undefined` means "not decidable on bytes" (the input had non-ASCII code
// units whose UTF-16 semantics matter): the wrapper then runs the JS path.
#include <napi.h>
#include <openssl/rand.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "aead.h"
#include "cookie.h"
#include "frame.h"
#include "hmac.h"
#include "record.h"

namespace hotsession {
namespace {

// V8 never splits a character, so a write that stops this close to the end
// of the buffer may have been cut short and is retried at the exact size.
constexpr size_t kUtf8Slack = 4;

bool ReadUtf8(napi_env env, napi_value v, std::vector<uint8_t>* buf, size_t* len) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, reinterpret_cast<char*>(buf->data()),
                                 buf->size(), &n) != napi_ok) {
    return false;
  }
  if (n + kUtf8Slack < buf->size() - 1) {
    *len = n;
    return true;
  }
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return false;
  buf->resize(n + kUtf8Slack + 1);
  if (napi_get_value_string_utf8(env, v, reinterpret_cast<char*>(buf->data()),
                                 buf->size(), &n) != napi_ok) {
    return false;
  }
  *len = n;
  return true;
}

bool IsAscii(const uint8_t* p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc < 0x80;
}

bool ReadBytes(napi_env env, napi_value v, const uint8_t** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void* p = nullptr;
  if (napi_get_typedarray_info(env, v, &type, len, &p, nullptr, nullptr) != napi_ok ||
      (type != napi_uint8_array && type != napi_uint8_clamped_array)) {
    return false;
  }
  // An empty view may have no backing store; callers still need a valid pointer.
  static const uint8_t kEmpty = 0;
  *data = *len == 0 || p == nullptr ? &kEmpty : static_cast<const uint8_t*>(p);
  return true;
}

// Optional Uint8Array argument: absent/undefined means empty.
bool ReadOptionalBytes(const Napi::CallbackInfo& info, size_t i, const uint8_t** data,
                       size_t* len) {
  static const uint8_t kEmpty = 0;
  if (info.Length() <= i || info[i].IsUndefined()) {
    *data = &kEmpty;
    *len = 0;
    return true;
  }
  return ReadBytes(info.Env(), info[i], data, len);
}

bool ReadTime(const Napi::Value& v, uint64_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > double(kMaxTime) || std::floor(d) != d) return false;
  *out = uint64_t(d);
  return true;
}

Napi::Value Latin1(napi_env env, const uint8_t* p, size_t n) {
  napi_value s;
  napi_create_string_latin1(env, reinterpret_cast<const char*>(p), n, &s);
  return Napi::Value(env, s);
}

Napi::Value TypeError(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

class Signer : public Napi::ObjectWrap<Signer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Signer",
                       {InstanceMethod<&Signer::Sign>("sign"),
                        InstanceMethod<&Signer::SignCookie>("signCookie"),
                        InstanceMethod<&Signer::Unsign>("unsign"),
                        InstanceMethod<&Signer::Extract>("extract")});
  }

  explicit Signer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Signer>(info) {
    scratch_.resize(4096);
    if (info.Length() < 1 || !info[0].IsArray()) {
      TypeError(info.Env(), "secrets must be an array of Buffers");
      return;
    }
    Napi::Array secrets = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < secrets.Length(); i++) {
      const uint8_t* p;
      size_t n;
      if (!ReadBytes(info.Env(), secrets.Get(i), &p, &n)) {
        TypeError(info.Env(), "secrets must be an array of Buffers");
        return;
      }
      ring_.Add(p, n);
    }
    if (ring_.size() == 0) TypeError(info.Env(), "at least one secret is required");
  }

 private:
  // Only the 43 signature characters: the wrapper prepends `value + '.'`,
  // which keeps any UTF-16 oddity in `value` out of this layer.
  Napi::Value Sign(const Napi::CallbackInfo& info) {
    Trim();
    size_t n;
    if (info.Length() < 1 || !ReadUtf8(info.Env(), info[0], &scratch_, &n)) {
      return TypeError(info.Env(), "value must be a string");
    }
    char sig[kSigLen];
    ring_.Sign(scratch_.data(), n, sig);
    return Latin1(info.Env(), reinterpret_cast<uint8_t*>(sig), kSigLen);
  }

  // The whole express-session cookie value, `s%3A<value>.<signature>` with
  // the signature's '+' and '/' percent-escaped, built as one flat string:
  // cheaper than concatenating and escaping in JS. The wrapper only passes
  // values made of URL-safe characters, which need no escaping themselves.
  Napi::Value SignCookie(const Napi::CallbackInfo& info) {
    Trim();
    size_t n;
    if (info.Length() < 1 || !ReadUtf8(info.Env(), info[0], &scratch_, &n)) {
      return TypeError(info.Env(), "value must be a string");
    }
    char sig[kSigLen];
    ring_.Sign(scratch_.data(), n, sig);
    cookie_.clear();
    cookie_.reserve(4 + n + 1 + 3 * kSigLen);
    cookie_.insert(cookie_.end(), {'s', '%', '3', 'A'});
    cookie_.insert(cookie_.end(), scratch_.data(), scratch_.data() + n);
    cookie_.push_back('.');
    for (size_t i = 0; i < kSigLen; i++) {
      if (sig[i] == '+') {
        cookie_.insert(cookie_.end(), {'%', '2', 'B'});
      } else if (sig[i] == '/') {
        cookie_.insert(cookie_.end(), {'%', '2', 'F'});
      } else {
        cookie_.push_back(static_cast<uint8_t>(sig[i]));
      }
    }
    return Latin1(info.Env(), cookie_.data(), cookie_.size());
  }

  Napi::Value Unsign(const Napi::CallbackInfo& info) {
    Trim();
    size_t n;
    if (info.Length() < 1 || !ReadUtf8(info.Env(), info[0], &scratch_, &n)) {
      return TypeError(info.Env(), "signed value must be a string");
    }
    if (!IsAscii(scratch_.data(), n)) return info.Env().Undefined();
    long value_len = ring_.Unsign(scratch_.data(), n);
    if (value_len < 0) return info.Env().Null();
    return Latin1(info.Env(), scratch_.data(), size_t(value_len));
  }

  Napi::Value Extract(const Napi::CallbackInfo& info) {
    Trim();
    Napi::Env env = info.Env();
    uint8_t name[256];
    size_t name_len = 0;
    if (info.Length() < 2 ||
        napi_get_value_string_utf8(env, info[1], reinterpret_cast<char*>(name), sizeof name,
                                   &name_len) != napi_ok) {
      return TypeError(env, "name must be a string");
    }
    // Long or non-ASCII names are legal but rare: the JS path handles them.
    if (name_len + kUtf8Slack >= sizeof name - 1 || !IsAscii(name, name_len)) {
      return env.Undefined();
    }
    size_t len;
    if (!ReadUtf8(env, info[0], &scratch_, &len)) return TypeError(env, "header must be a string");
    size_t start = 0;
    size_t vlen = 0;
    switch (FindCookie(scratch_.data(), len, name, name_len, &start, &vlen)) {
      case Found::kAbsent:
        return env.Null();
      case Found::kNonAscii:
        return env.Undefined();
      case Found::kValue:
        break;
    }
    uint8_t* value = scratch_.data() + start;
    bool decoded = false;
    if (std::memchr(value, '%', vlen) != nullptr) {
      // Decoding in place would destroy the raw value that a failed decode
      // must fall back to, so decode to the scratch tail (room was reserved).
      if (scratch_.size() < len + vlen) {
        scratch_.resize(len + vlen);
        value = scratch_.data() + start;
      }
      uint8_t* out = scratch_.data() + len;
      long d = PercentDecode(value, vlen, out);
      if (d >= 0) {
        value = out;
        vlen = size_t(d);
        decoded = true;
      }
    }
    if (vlen < 2 || value[0] != 's' || value[1] != ':') return env.Null();
    long id_len = ring_.Unsign(value + 2, vlen - 2);
    if (id_len < 0) return env.Null();
    if (!decoded) return Latin1(env, value + 2, size_t(id_len));
    // Decoded bytes are valid UTF-8 (PercentDecode rejects anything else).
    return Napi::String::New(env, reinterpret_cast<const char*>(value + 2), size_t(id_len));
  }

  // One giant input (Node itself caps headers at 16 KiB by default, but a
  // caller may pass anything) must not pin its buffer for the signer's life.
  void Trim() {
    if (scratch_.size() > (1u << 20)) {
      scratch_.resize(4096);
      scratch_.shrink_to_fit();
    }
  }

  KeyRing ring_;
  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> cookie_;
};

class Sealer : public Napi::ObjectWrap<Sealer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sealer",
                       {InstanceMethod<&Sealer::Seal>("seal"),
                        InstanceMethod<&Sealer::Open>("open")});
  }

  // (keys: Buffer[], ids: number[]) with ids computed by keys.ts's keyId().
  explicit Sealer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sealer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
      TypeError(env, "keys and ids must be arrays");
      return;
    }
    Napi::Array keys = info[0].As<Napi::Array>();
    Napi::Array ids = info[1].As<Napi::Array>();
    if (keys.Length() == 0 || keys.Length() != ids.Length()) {
      TypeError(env, "need one id per key, and at least one key");
      return;
    }
    for (uint32_t i = 0; i < keys.Length(); i++) {
      const uint8_t* p;
      size_t n;
      Napi::Value id = ids.Get(i);
      if (!ReadBytes(env, keys.Get(i), &p, &n) || n != 32 || !id.IsNumber()) {
        TypeError(env, "AEAD keys must be 32 bytes with a numeric id");
        return;
      }
      if (!ring_.Add(p, id.As<Napi::Number>().Uint32Value())) {
        TypeError(env, "AEAD key rejected (duplicate id?)");
        return;
      }
    }
  }

 private:
  // (out, plaintext, expiresAt, aad?) -> undefined. `out` is exactly
  // kSealOverhead + plaintext.length bytes, allocated by the wrapper: a Buffer
  // from Node's pool costs a fraction of one created here.
  Napi::Value Seal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint8_t* out;
    size_t out_len;
    const uint8_t* pt;
    size_t pt_len;
    const uint8_t* aad;
    size_t aad_len;
    uint64_t expires_at;
    if (info.Length() < 3 || !ReadBytes(env, info[0], &out, &out_len) ||
        !ReadBytes(env, info[1], &pt, &pt_len) || !ReadTime(info[2], &expires_at) ||
        !ReadOptionalBytes(info, 3, &aad, &aad_len) || out_len != pt_len + kSealOverhead) {
      return TypeError(env, "seal(out, plaintext, expiresAt, aad?) got bad arguments");
    }
    const uint8_t* nonce = NextNonce();
    if (nonce == nullptr) {
      Napi::Error::New(env, "RAND_bytes failed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!ring_.Seal(pt, pt_len, expires_at, aad, aad_len, nonce, const_cast<uint8_t*>(out))) {
      Napi::Error::New(env, "AES-256-GCM seal failed").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // (out, envelope, aad?) -> boolean, `out` being envelope.length -
  // kSealOverhead bytes. False for anything that does not open; `out` then
  // holds garbage and the wrapper drops it.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint8_t* out;
    size_t out_len;
    const uint8_t* envl;
    size_t len;
    const uint8_t* aad;
    size_t aad_len;
    if (info.Length() < 2 || !ReadBytes(env, info[0], &out, &out_len) ||
        !ReadBytes(env, info[1], &envl, &len) || !ReadOptionalBytes(info, 2, &aad, &aad_len)) {
      return TypeError(env, "open(out, envelope, aad?) got bad arguments");
    }
    uint64_t expires_at;
    long pt_len = ring_.Check(envl, len, &expires_at);
    bool ok = pt_len >= 0 && size_t(pt_len) == out_len &&
              ring_.Open(envl, len, aad, aad_len, const_cast<uint8_t*>(out));
    return Napi::Boolean::New(env, ok);
  }

  // Nonces come from a batch of RAND_bytes output: one DRBG call per 64 seals
  // instead of one per seal (RAND_bytes costs about twice the AES-GCM work of
  // a small cookie). Each nonce is handed out once; they are public anyway.
  // Node never forks without exec, so two processes cannot share a batch.
  const uint8_t* NextNonce() {
    if (nonce_pos_ == sizeof nonces_) {
      if (RAND_bytes(nonces_, sizeof nonces_) != 1) return nullptr;
      nonce_pos_ = 0;
    }
    const uint8_t* n = nonces_ + nonce_pos_;
    nonce_pos_ += kSealNonce;
    return n;
  }

  uint8_t nonces_[kSealNonce * 64];
  size_t nonce_pos_ = sizeof nonces_;
  AeadRing ring_;
};

// (out, body, expiresAt, createdAt) -> undefined; `out` is 24 + body.length bytes.
Napi::Value Frame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* out;
  size_t out_len;
  const uint8_t* body;
  size_t len;
  uint64_t expires_at;
  uint64_t created_at;
  if (info.Length() < 4 || !ReadBytes(env, info[0], &out, &out_len) ||
      !ReadBytes(env, info[1], &body, &len) || !ReadTime(info[2], &expires_at) ||
      !ReadTime(info[3], &created_at) || len > 0xffffffffu || out_len != kFrameHeader + len) {
    return TypeError(env, "frame(out, body, expiresAt, createdAt) got bad arguments");
  }
  uint8_t* o = const_cast<uint8_t*>(out);
  WriteFrameHeader(o, uint32_t(len), expires_at, created_at);
  // memmove: nothing stops a caller from passing overlapping views.
  if (len > 0) std::memmove(o + kFrameHeader, body, len);
  return env.Undefined();
}

// (buf, times: Float64Array(2)) -> boolean; on success times = [expiresAt, createdAt].
// Filling a caller-owned array avoids building an object in C++.
Napi::Value Unframe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* buf;
  size_t len;
  if (info.Length() < 2 || !ReadBytes(env, info[0], &buf, &len) ||
      !info[1].IsTypedArray()) {
    return TypeError(env, "unframe(buf, times) got bad arguments");
  }
  napi_typedarray_type type;
  size_t n;
  void* p;
  if (napi_get_typedarray_info(env, info[1], &type, &n, &p, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array || n < 2) {
    return TypeError(env, "times must be a Float64Array(2)");
  }
  uint64_t e;
  uint64_t c;
  if (!ReadFrame(buf, len, &e, &c)) return Napi::Boolean::New(env, false);
  double* times = static_cast<double*>(p);
  times[0] = double(e);
  times[1] = double(c);
  return Napi::Boolean::New(env, true);
}

// One typed-array lookup (no separate type test: get_typedarray_info fails
// on anything else). Empty views may have no backing store; callers get a
// valid pointer all the same.
bool ViewOf(napi_env env, napi_value v, napi_typedarray_type want, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  void* p = nullptr;
  if (napi_get_typedarray_info(env, v, &type, len, &p, nullptr, nullptr) != napi_ok ||
      (type != want && !(want == napi_uint8_array && type == napi_uint8_clamped_array))) {
    return false;
  }
  static uint8_t kEmpty[16];
  *data = *len == 0 || p == nullptr ? kEmpty : static_cast<uint8_t*>(p);
  return true;
}

napi_value Number(napi_env env, double d) {
  napi_value r;
  napi_create_double(env, d, &r);
  return r;
}

// What the record functions keep per Node environment (the main thread and
// each worker get their own), handed to them as their callback data: the
// scan/apply/merge scratch and the output buffer the wrapper registered
// (set once, not passed per call: each typed array an N-API call reads costs
// ~25 ns). Inputs past a megabyte make the scratch large; it is given back
// after such a call rather than pinned for the life of the env.
struct EnvRecords {
  RecordWork work;
  napi_ref out_ref = nullptr;
  uint8_t* out = nullptr;
  size_t out_len = 0;
};

EnvRecords* RecordsOf(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  void* data = nullptr;
  if (napi_get_cb_info(env, info, argc, argv, nullptr, &data) != napi_ok) return nullptr;
  return static_cast<EnvRecords*>(data);
}

void TrimAfter(RecordWork* work, size_t bytes) {
  if (bytes > (1u << 20)) work->Trim();
}

// (out: Buffer) -> undefined: where apply and merge write from now on. The
// wrapper never hands this buffer out (it copies results from it), so no one
// else can detach or resize it; the reference keeps it alive.
napi_value SetOut(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint8_t* out;
  size_t len;
  EnvRecords* r = RecordsOf(env, info, &argc, argv);
  napi_ref ref;
  if (r == nullptr || argc < 1 || !ViewOf(env, argv[0], napi_uint8_array, &out, &len) ||
      napi_create_reference(env, argv[0], 1, &ref) != napi_ok) {
    napi_throw_type_error(env, nullptr, "setOut(buffer) got bad arguments");
    return nullptr;
  }
  if (r->out_ref != nullptr) napi_delete_reference(env, r->out_ref);
  r->out_ref = ref;
  r->out = out;
  r->out_len = len;
  return nullptr;
}

// (buf, index: Uint8Array, at) -> kind, or -1 malformed, -2 index too small.
// The entries land in u32 at..at + 4 * count of `index` (a byte view of a
// Uint32Array slab: its address is cheaper to read than the Uint32Array's).
// The wrapper hands out views of one slab instead of allocating a
// Uint32Array per scan (bench/record-codec.mjs, "index for 26 keys").
napi_value Scan(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t* buf;
  size_t len;
  uint8_t* slab;
  size_t slab_len;
  uint32_t at;
  EnvRecords* r = RecordsOf(env, info, &argc, argv);
  if (r == nullptr || argc < 3 || !ViewOf(env, argv[0], napi_uint8_array, &buf, &len) ||
      !ViewOf(env, argv[1], napi_uint8_array, &slab, &slab_len) ||
      napi_get_value_uint32(env, argv[2], &at) != napi_ok || at > slab_len / 4 ||
      reinterpret_cast<uintptr_t>(slab) % alignof(Entry) != 0) {
    napi_throw_type_error(env, nullptr, "scan(buf, index, at) got bad arguments");
    return nullptr;
  }
  RecordHead head;
  Entry* index = reinterpret_cast<Entry*>(slab + size_t(at) * 4);
  int kind = ScanRecord(buf, len, &head, index, (slab_len / 4 - at) / 4, &r->work.ka);
  TrimAfter(&r->work, len);
  return Number(env, kind);
}

// (record | null, patch) / (p1, p2) -> bytes written to the registered out
// buffer, -1 refused, or -2 - size when it is too small for the result.
template <bool kMerge>
napi_value Combine(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t* a = nullptr;
  size_t a_len = 0;
  uint8_t* b;
  size_t b_len;
  napi_valuetype t = napi_undefined;
  EnvRecords* r = RecordsOf(env, info, &argc, argv);
  bool ok = r != nullptr && argc >= 2 && ViewOf(env, argv[1], napi_uint8_array, &b, &b_len);
  if (ok && !(!kMerge && napi_typeof(env, argv[0], &t) == napi_ok && t == napi_null)) {
    ok = ViewOf(env, argv[0], napi_uint8_array, &a, &a_len);
  }
  if (!ok) {
    napi_throw_type_error(env, nullptr, kMerge ? "merge(p1, p2) got bad arguments"
                                               : "apply(record, patch) got bad arguments");
    return nullptr;
  }
  size_t needed = 0;
  // No out buffer yet reads as one of size 0: the wrapper is told the size.
  static uint8_t kNone = 0;
  uint8_t* out = r->out != nullptr ? r->out : &kNone;
  int64_t n = kMerge ? MergePatches(&r->work, a, a_len, b, b_len, out, r->out_len, &needed)
                     : ApplyPatch(&r->work, a, a_len, b, b_len, out, r->out_len, &needed);
  TrimAfter(&r->work, a_len + b_len);
  return Number(env, n == kOutTooSmall ? -2 - double(needed) : double(n));
}

void Export(napi_env env, napi_value exports, const char* name, napi_callback cb, void* data) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &fn);
  napi_set_named_property(env, exports, name, fn);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Freed with the env; its out reference goes with the env's other handles.
  auto* records = new EnvRecords();
  napi_add_env_cleanup_hook(env, [](void* p) { delete static_cast<EnvRecords*>(p); }, records);
  Export(env, exports, "scan", Scan, records);
  Export(env, exports, "setOut", SetOut, records);
  Export(env, exports, "apply", Combine<false>, records);
  Export(env, exports, "merge", Combine<true>, records);

  exports.Set("Signer", Signer::Init(env));
  exports.Set("Sealer", Sealer::Init(env));
  exports.Set("frame", Napi::Function::New<Frame>(env, "frame"));
  exports.Set("unframe", Napi::Function::New<Unframe>(env, "unframe"));
  return exports;
}

}  // namespace
}  // namespace hotsession

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return hotsession::Init(env, exports);
}

NODE_API_MODULE(hotsession, InitAddon)
