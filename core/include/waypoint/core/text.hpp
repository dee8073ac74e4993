// UTF-8 checks shared by the decoder and the extension's bookkeeping (dead letters,
// fid_done errors): what Postgres accepts as text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace waypoint::core {

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 when there is none:
// a stray continuation byte, a truncated sequence, an overlong form, a surrogate or a
// code point above U+10FFFF. NUL counts as well-formed (length 1).
size_t Utf8SequenceLength(std::string_view s, size_t i);
// Whether all of s is well-formed UTF-8 (NUL allowed).
bool ValidUtf8(std::string_view s);
// Whether s is usable as Postgres text: well-formed UTF-8 without NUL.
bool PostgresText(std::string_view s);
// SanitizeText makes arbitrary bytes Postgres text: every byte that does not start a
// well-formed sequence, and every NUL, becomes '?'.
std::string SanitizeText(std::string_view s);

}  // namespace waypoint::core
