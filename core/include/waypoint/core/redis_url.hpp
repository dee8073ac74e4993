// The Redis URL both halves read (the sidecar's redis.url, the extension's
// waypoint.redis_url), parsed by one rule so one URL always means the same server and
// the same credentials on both sides.
//
//   redis://[[user]:password@]host[:port][/db]
//
// - host: a name or IPv4 address (letters, digits, '-', '.', '_'), or an IPv6 address
//   in brackets ("[::1]"; hex digits, ':', '.'). Required.
// - port: decimal, 1..65535; 6379 when absent.
// - db: decimal, 0..2147483647; 0 when absent or when the URL ends in "/".
// - user and password: percent-decoded ("%40" is '@', "%3A" ':', "%2F" '/', "%25" '%'),
//   so any password can be written. The user info ends at the last '@' and the user at
//   the first ':' in it. "redis://:pw@host" authenticates with AUTH pw (the default
//   user), "redis://alice:pw@host" with AUTH alice pw; an empty password sends no AUTH.
//
// Rejected, with a message that never repeats any part of the URL (it may hold the
// password):
// - any other scheme, and rediss:// in particular (hiredis 0.14 has no TLS);
// - user info without ':' ("redis://secret@host"): Redis clients disagree on whether
//   that is a user or a password, so we accept neither reading; write ":secret@";
// - a '%' not followed by two hex digits in the user or password;
// - no host, a host with other characters ("host?x=1"), an unbracketed IPv6 address,
//   an unterminated '[', text after ']' that is not ":port";
// - an empty, non-decimal or out-of-range port ("host:" included) or database
//   (a query string such as "/0?timeout=1" included).
#pragma once

#include <string>

namespace waypoint::core {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // decoded
  std::string password;  // decoded; never logged
  int db = 0;

  // Parse applies the rule above; throws core::Error(ErrorClass::kConfig).
  static RedisUrl Parse(const std::string& url);
  // Redacted is the URL for logs and messages: "redis://[user:***@]host:port[/db]",
  // "***" standing for a non-empty password, the user percent-encoded again, an IPv6
  // host in brackets, "/db" only when db is not 0. It parses back to the same server.
  std::string Redacted() const;
};

}  // namespace waypoint::core
