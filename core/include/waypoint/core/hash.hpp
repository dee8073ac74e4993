// Farcaster message hashing. Snapchain identifies every message by the first 20 bytes
// of the BLAKE3 digest of its MessageData bytes (HASH_SCHEME_BLAKE3), and signers sign
// those 20 bytes. BLAKE3 is implemented here (portable, no SIMD) so the core needs no
// extra library; it is tested against the official BLAKE3 test vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waypoint::core {

// Length of a Farcaster message hash (truncated BLAKE3).
inline constexpr std::size_t kMessageHashSize = 20;

// BLAKE3 of `data` in default (unkeyed) hash mode, 32-byte output.
std::array<uint8_t, 32> Blake3(std::string_view data);

// BLAKE3 extended output (XOF): the first `out_len` bytes of the output stream. The
// first 32 bytes equal Blake3(data).
std::string Blake3Xof(std::string_view data, std::size_t out_len);

// Farcaster message hash: BLAKE3(data_bytes) truncated to 20 bytes.
std::array<uint8_t, kMessageHashSize> MessageHash(std::string_view data_bytes);

// Lower-case hex of bytes; handy for logs and tests.
std::string ToHex(std::string_view bytes);
template <std::size_t N>
std::string ToHex(const std::array<uint8_t, N>& bytes) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(bytes.data()), N));
}
// The bytes of hex digits (either case); nullopt for an odd length or a non-digit.
std::optional<std::string> FromHex(std::string_view hex);

}  // namespace waypoint::core
