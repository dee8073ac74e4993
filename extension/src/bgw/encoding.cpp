// See encoding.hpp. No Postgres headers in this file.
#include "encoding.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "waypoint/core/hash.hpp"

namespace waypoint::bgw {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Len(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return c == 0 ? 0 : 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool IsCleanUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

FidDone ParseFidDone(const std::string& payload) {
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw std::invalid_argument("fid_done payload is not a JSON object");
  FidDone out;
  const auto st = j.find("status");
  if (st == j.end() || !st->is_string()) throw std::invalid_argument("fid_done payload has no string \"status\"");
  out.status = st->get<std::string>();
  if (out.status != "ok" && out.status != "failed")
    throw std::invalid_argument("fid_done status must be \"ok\" or \"failed\"");
  const auto m = j.find("messages");
  if (m != j.end()) {
    if (!m->is_number_integer() || m->get<int64_t>() < 0)
      throw std::invalid_argument("fid_done \"messages\" must be a non-negative integer");
    out.messages = m->get<int64_t>();
  }
  const auto e = j.find("error");
  if (e != j.end() && e->is_string()) out.error = e->get<std::string>();
  return out;
}

int64_t ParseJobId(const std::string& job) {
  if (job.empty() || job.size() > 18) throw std::invalid_argument("backfill job id '" + SanitizeText(job) + "' is not valid");
  int64_t v = 0;
  for (char c : job) {
    if (c < '0' || c > '9') throw std::invalid_argument("backfill job id '" + SanitizeText(job) + "' is not valid");
    v = v * 10 + (c - '0');
  }
  if (v <= 0) throw std::invalid_argument("backfill job id must be positive");
  return v;
}

std::string SanitizeText(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Len(s, i);
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

std::string FieldsJson(const core::EntryFields& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : fields) {
    if (name == "d") continue;
    const std::string key = IsCleanUtf8(name) ? name : "\\x" + core::ToHex(name);
    j[key] = IsCleanUtf8(value) ? value : "\\x" + core::ToHex(value);
  }
  return j.dump();
}

std::string ArrayLiteral(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out.push_back('"');
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace waypoint::bgw
