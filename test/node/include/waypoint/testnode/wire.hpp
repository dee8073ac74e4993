// Minimal protobuf wire writer. The node assembles HubEvent and Message bytes from
// stored pieces instead of parsing and re-serializing them (fast, and it lets the
// Subscribe stream send exactly the bytes it chooses, garbled ones included).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace waypoint::testnode::wire {

inline void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void PutTag(std::string& out, uint32_t field, uint32_t wire_type) {
  PutVarint(out, (uint64_t{field} << 3) | wire_type);
}

// proto3 omits zero scalars; callers that want that pass skip_zero.
inline void PutUint(std::string& out, uint32_t field, uint64_t v, bool skip_zero = true) {
  if (v == 0 && skip_zero) return;
  PutTag(out, field, 0);
  PutVarint(out, v);
}

inline void PutBytes(std::string& out, uint32_t field, std::string_view bytes) {
  PutTag(out, field, 2);
  PutVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

}  // namespace waypoint::testnode::wire
