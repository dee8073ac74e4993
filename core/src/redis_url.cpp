#include "waypoint/core/redis_url.hpp"

#include "waypoint/core/errors.hpp"

namespace waypoint::core {
namespace {

// Messages name the part that is wrong and never echo the URL: a mistyped URL can put
// the password where the port or the host was expected.
Error Bad(const std::string& why) { return Error(ErrorClass::kConfig, "bad Redis URL: " + why); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s, const char* what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw Bad(std::string("the ") + what + " has a '%' not followed by two hex digits");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string PercentEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Decimal digits only (no sign, no spaces), lo..hi.
int ParseDecimal(const std::string& s, long long lo, long long hi, const char* what) {
  if (s.empty()) throw Bad(std::string("the ") + what + " is empty");
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') throw Bad(std::string("the ") + what + " is not a decimal number");
    v = v * 10 + (c - '0');
    if (v > hi) break;
  }
  if (v < lo || v > hi)
    throw Bad(std::string("the ") + what + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(v);
}

// A host name or IPv4 address: letters, digits, '-', '.', '_'. Inside brackets, an IPv6
// address: hex digits, ':' and '.' (an embedded IPv4 address).
bool ValidHost(const std::string& h, bool bracketed) {
  for (char c : h) {
    const bool ok = bracketed ? HexValue(c) >= 0 || c == ':' || c == '.'
                              : (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                    c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

RedisUrl RedisUrl::Parse(const std::string& url) {
  static const std::string kScheme = "redis://";
  if (url.compare(0, 9, "rediss://") == 0) throw Bad("TLS (rediss://) is not supported by hiredis 0.14");
  if (url.compare(0, kScheme.size(), kScheme) != 0) throw Bad("it must start with redis://");
  RedisUrl out;
  std::string rest = url.substr(kScheme.size());
  // Neither the host nor the database holds an '@': the last one ends the user info,
  // whatever the (unencoded) password contains.
  const size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon == std::string::npos)
      throw Bad("the user info has no ':' (write redis://:PASSWORD@host, or redis://USER:PASSWORD@host)");
    out.user = PercentDecode(userinfo.substr(0, colon), "user");
    out.password = PercentDecode(userinfo.substr(colon + 1), "password");
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    if (!db.empty()) out.db = ParseDecimal(db, 0, 2147483647, "database number");
    rest.resize(slash);
  }
  std::string port;
  bool has_port = false;
  const bool bracketed = !rest.empty() && rest[0] == '[';
  if (bracketed) {
    const size_t close = rest.find(']');
    if (close == std::string::npos) throw Bad("the [IPv6] host has no ']'");
    out.host = rest.substr(1, close - 1);
    const std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw Bad("only \":port\" may follow the [IPv6] host");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon != std::string::npos) {
      out.host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      has_port = true;
      if (out.host.find(':') != std::string::npos) throw Bad("an IPv6 host must be written in brackets ([::1])");
    } else {
      out.host = rest;
    }
  }
  if (out.host.empty()) throw Bad("it has no host");
  if (!ValidHost(out.host, bracketed))
    throw Bad(bracketed ? "the [IPv6] host may hold only hex digits, ':' and '.'"
                        : "the host may hold only letters, digits, '-', '.' and '_'");
  if (has_port) out.port = ParseDecimal(port, 1, 65535, "port");
  return out;
}

std::string RedisUrl::Redacted() const {
  std::string s = "redis://";
  if (!user.empty() || !password.empty()) s += PercentEncode(user) + (password.empty() ? ":@" : ":***@");
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ":" + std::to_string(port);
  if (db != 0) s += "/" + std::to_string(db);
  return s;
}

}  // namespace waypoint::core
