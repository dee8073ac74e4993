// BLAKE3 (hash mode only), written from the BLAKE3 specification: 1024-byte chunks
// of 64-byte blocks compressed with a 7-round ChaCha-like function, chunk chaining
// values merged pairwise into a binary tree (left subtrees are complete powers of two),
// and the root node compressed with the ROOT flag, its output counter giving the XOF.
#include "waypoint/core/hash.hpp"

#include <cstring>
#include <vector>

namespace waypoint::core {
namespace {

constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                             0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};
constexpr uint8_t kMsgPermutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

constexpr uint32_t kChunkStart = 1u << 0;
constexpr uint32_t kChunkEnd = 1u << 1;
constexpr uint32_t kParent = 1u << 2;
constexpr uint32_t kRoot = 1u << 3;

constexpr std::size_t kBlockLen = 64;
constexpr std::size_t kChunkLen = 1024;

using Cv = std::array<uint32_t, 8>;

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

inline void G(uint32_t* s, int a, int b, int c, int d, uint32_t mx, uint32_t my) {
  s[a] = s[a] + s[b] + mx;
  s[d] = Rotr(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = Rotr(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + my;
  s[d] = Rotr(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = Rotr(s[b] ^ s[c], 7);
}

// The compression function; returns the full 16-word output (the first 8 words are
// the chaining value, all 16 are used for root output blocks).
std::array<uint32_t, 16> Compress(const Cv& cv, const uint32_t block[16], uint64_t counter, uint32_t block_len,
                                  uint32_t flags) {
  uint32_t s[16] = {cv[0],
                    cv[1],
                    cv[2],
                    cv[3],
                    cv[4],
                    cv[5],
                    cv[6],
                    cv[7],
                    kIv[0],
                    kIv[1],
                    kIv[2],
                    kIv[3],
                    static_cast<uint32_t>(counter),
                    static_cast<uint32_t>(counter >> 32),
                    block_len,
                    flags};
  uint32_t m[16];
  std::memcpy(m, block, sizeof m);
  for (int round = 0; round < 7; ++round) {
    G(s, 0, 4, 8, 12, m[0], m[1]);
    G(s, 1, 5, 9, 13, m[2], m[3]);
    G(s, 2, 6, 10, 14, m[4], m[5]);
    G(s, 3, 7, 11, 15, m[6], m[7]);
    G(s, 0, 5, 10, 15, m[8], m[9]);
    G(s, 1, 6, 11, 12, m[10], m[11]);
    G(s, 2, 7, 8, 13, m[12], m[13]);
    G(s, 3, 4, 9, 14, m[14], m[15]);
    if (round < 6) {
      uint32_t permuted[16];
      for (int i = 0; i < 16; ++i) permuted[i] = m[kMsgPermutation[i]];
      std::memcpy(m, permuted, sizeof m);
    }
  }
  std::array<uint32_t, 16> out;
  for (int i = 0; i < 8; ++i) {
    out[i] = s[i] ^ s[i + 8];
    out[i + 8] = s[i + 8] ^ cv[i];
  }
  return out;
}

Cv First8(const std::array<uint32_t, 16>& w) {
  Cv cv;
  std::memcpy(cv.data(), w.data(), sizeof(uint32_t) * 8);
  return cv;
}

// A node whose compression is deferred: the last one computed becomes the root, which
// must be compressed with ROOT (and possibly several output counters).
struct Output {
  Cv input_cv;
  uint32_t block[16];
  uint64_t counter;
  uint32_t block_len;
  uint32_t flags;

  Cv ChainingValue() const { return First8(Compress(input_cv, block, counter, block_len, flags)); }

  void RootBytes(uint8_t* out, std::size_t len) const {
    uint64_t output_counter = 0;
    while (len > 0) {
      const auto words = Compress(input_cv, block, output_counter, block_len, flags | kRoot);
      for (std::size_t i = 0; i < 16 && len > 0; ++i) {
        for (int b = 0; b < 4 && len > 0; ++b, --len) *out++ = static_cast<uint8_t>(words[i] >> (8 * b));
      }
      ++output_counter;
    }
  }
};

void LoadBlock(const uint8_t* p, std::size_t len, uint32_t out[16]) {
  uint8_t buf[kBlockLen] = {0};  // a short final block is zero padded
  std::memcpy(buf, p, len);
  for (int i = 0; i < 16; ++i) out[i] = Load32(buf + 4 * i);
}

// Compresses every block of one chunk but the last, returning the last as an Output.
Output ChunkOutput(const uint8_t* p, std::size_t len, uint64_t chunk_counter) {
  Cv cv;
  std::memcpy(cv.data(), kIv, sizeof kIv);
  uint32_t flags = kChunkStart;
  uint32_t block[16];
  while (len > kBlockLen) {
    LoadBlock(p, kBlockLen, block);
    cv = First8(Compress(cv, block, chunk_counter, kBlockLen, flags));
    flags = 0;
    p += kBlockLen;
    len -= kBlockLen;
  }
  Output out;
  out.input_cv = cv;
  LoadBlock(p, len, out.block);
  out.counter = chunk_counter;
  out.block_len = static_cast<uint32_t>(len);
  out.flags = flags | kChunkEnd;
  return out;
}

Output ParentOutput(const Cv& left, const Cv& right) {
  Output out;
  std::memcpy(out.input_cv.data(), kIv, sizeof kIv);
  std::memcpy(out.block, left.data(), 32);
  std::memcpy(out.block + 8, right.data(), 32);
  out.counter = 0;
  out.block_len = kBlockLen;
  out.flags = kParent;
  return out;
}

Output RootOutput(std::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  std::size_t len = data.size();
  // Chaining values of completed subtrees; merging whenever the chunk count has a
  // trailing zero bit keeps every left subtree a full power of two, as the spec requires.
  std::vector<Cv> stack;
  uint64_t chunk = 0;
  // The final chunk (possibly empty) is never merged eagerly: it may become the root.
  while (len > kChunkLen) {
    Cv cv = ChunkOutput(p, kChunkLen, chunk).ChainingValue();
    ++chunk;
    for (uint64_t total = chunk; (total & 1) == 0; total >>= 1) {
      cv = ParentOutput(stack.back(), cv).ChainingValue();
      stack.pop_back();
    }
    stack.push_back(cv);
    p += kChunkLen;
    len -= kChunkLen;
  }
  Output out = ChunkOutput(p, len, chunk);
  while (!stack.empty()) {
    out = ParentOutput(stack.back(), out.ChainingValue());
    stack.pop_back();
  }
  return out;
}

}  // namespace

std::array<uint8_t, 32> Blake3(std::string_view data) {
  std::array<uint8_t, 32> digest;
  RootOutput(data).RootBytes(digest.data(), digest.size());
  return digest;
}

std::string Blake3Xof(std::string_view data, std::size_t out_len) {
  std::string out(out_len, '\0');
  RootOutput(data).RootBytes(reinterpret_cast<uint8_t*>(out.data()), out_len);
  return out;
}

std::array<uint8_t, kMessageHashSize> MessageHash(std::string_view data_bytes) {
  const auto full = Blake3(data_bytes);
  std::array<uint8_t, kMessageHashSize> h;
  std::memcpy(h.data(), full.data(), h.size());
  return h;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace waypoint::core
