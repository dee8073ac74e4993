// The Redis URL rule both halves use (core/include/waypoint/core/redis_url.hpp): every
// accepted form, every rejection, and that no message or redacted form shows a password.
#include <gtest/gtest.h>

#include "waypoint/core/errors.hpp"
#include "waypoint/core/redis_url.hpp"

using waypoint::core::Error;
using waypoint::core::ErrorClass;
using waypoint::core::RedisUrl;

namespace {

// The message of the rejection of `url`; fails the test when it is accepted.
std::string Rejection(const std::string& url) {
  try {
    RedisUrl::Parse(url);
  } catch (const Error& e) {
    EXPECT_EQ(e.cls(), ErrorClass::kConfig) << url;
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << url;
  return "";
}

}  // namespace

TEST(RedisUrl, HostOnlyTakesTheDefaults) {
  const RedisUrl u = RedisUrl::Parse("redis://cache");
  EXPECT_EQ(u.host, "cache");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "");
  EXPECT_EQ(u.db, 0);
  EXPECT_EQ(u.Redacted(), "redis://cache:6379");
}

TEST(RedisUrl, HostPortAndDb) {
  RedisUrl u = RedisUrl::Parse("redis://10.0.0.1:6380/3");
  EXPECT_EQ(u.host, "10.0.0.1");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 3);
  EXPECT_EQ(u.Redacted(), "redis://10.0.0.1:6380/3");
  u = RedisUrl::Parse("redis://h/7");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.db, 7);
  u = RedisUrl::Parse("redis://h:1/");  // a trailing slash is database 0
  EXPECT_EQ(u.port, 1);
  EXPECT_EQ(u.db, 0);
  EXPECT_EQ(RedisUrl::Parse("redis://h:65535/2147483647").db, 2147483647);
  EXPECT_EQ(RedisUrl::Parse("redis://redis_1.internal-net").host, "redis_1.internal-net");
}

TEST(RedisUrl, PasswordOnlyIsTheDefaultUser) {
  const RedisUrl u = RedisUrl::Parse("redis://:pw@10.0.0.1:6380/3");
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.host, "10.0.0.1");
  EXPECT_EQ(u.Redacted(), "redis://:***@10.0.0.1:6380/3");
}

TEST(RedisUrl, UserAndPassword) {
  const RedisUrl u = RedisUrl::Parse("redis://alice:pw@h");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.Redacted(), "redis://alice:***@h:6379");
}

TEST(RedisUrl, EmptyPasswordMeansNoAuth) {
  RedisUrl u = RedisUrl::Parse("redis://:@h");
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "");
  EXPECT_EQ(u.Redacted(), "redis://h:6379");
  u = RedisUrl::Parse("redis://alice:@h");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "");
  EXPECT_EQ(u.Redacted(), "redis://alice:@h:6379");
}

TEST(RedisUrl, UserAndPasswordArePercentDecoded) {
  const RedisUrl u = RedisUrl::Parse("redis://al%69ce%3Ax:p%40ss%3Aw%2Fo%25rd%2a@h:1");
  EXPECT_EQ(u.user, "alice:x");
  EXPECT_EQ(u.password, "p@ss:w/o%rd*");
  EXPECT_EQ(u.host, "h");
  EXPECT_EQ(u.port, 1);
  // The user is encoded again so the redacted form reads back as the same user.
  EXPECT_EQ(u.Redacted(), "redis://alice%3Ax:***@h:1");
  EXPECT_EQ(RedisUrl::Parse(u.Redacted()).user, "alice:x");
}

TEST(RedisUrl, UnencodedSpecialCharactersInThePassword) {
  // The last '@' ends the user info and the first ':' ends the user, so a password may
  // hold '@', ':' and '/' unencoded.
  const RedisUrl u = RedisUrl::Parse("redis://bob:a:b@c/d@h:2/1");
  EXPECT_EQ(u.user, "bob");
  EXPECT_EQ(u.password, "a:b@c/d");
  EXPECT_EQ(u.host, "h");
  EXPECT_EQ(u.port, 2);
  EXPECT_EQ(u.db, 1);
}

TEST(RedisUrl, BracketedIpv6) {
  RedisUrl u = RedisUrl::Parse("redis://:pw@[::1]:6390/2");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 6390);
  EXPECT_EQ(u.db, 2);
  EXPECT_EQ(u.Redacted(), "redis://:***@[::1]:6390/2");
  u = RedisUrl::Parse("redis://[fe80::1:ffff:10.0.0.1]");
  EXPECT_EQ(u.host, "fe80::1:ffff:10.0.0.1");
  EXPECT_EQ(u.port, 6379);
}

TEST(RedisUrl, BarePasswordIsRejectedNotGuessed) {
  // Clients disagree whether "secret" is a user or a password: both halves refuse it
  // (the sidecar used to take it as a password, the extension refused it).
  const std::string e = Rejection("redis://secret@host:6379");
  EXPECT_NE(e.find("redis://:PASSWORD@host"), std::string::npos) << e;
  EXPECT_EQ(e.find("secret"), std::string::npos) << e;
  Rejection("redis://@host");
}

TEST(RedisUrl, RejectsOtherSchemes) {
  EXPECT_NE(Rejection("rediss://h:1").find("TLS"), std::string::npos);
  Rejection("http://h:1");
  Rejection("REDIS://h");
  Rejection("redis:/h");
  Rejection("h:6379");
  Rejection("");
}

TEST(RedisUrl, RejectsBadPercentEscapes) {
  Rejection("redis://:p%zzw@h");
  Rejection("redis://:pw%4@h");
  Rejection("redis://:pw%@h");
  Rejection("redis://u%g1:pw@h");
}

TEST(RedisUrl, RejectsMissingOrBadHosts) {
  Rejection("redis://");
  Rejection("redis://:pw@");
  Rejection("redis://:6379");
  Rejection("redis:///0");
  Rejection("redis://[]:1");
  Rejection("redis://::1");     // IPv6 needs brackets
  Rejection("redis://[::1");    // unterminated
  Rejection("redis://[::1]x");  // garbage after ']'
  Rejection("redis://[::1]6379");
  Rejection("redis://[::g]");
  Rejection("redis://host?timeout=1");
  Rejection("redis://ho st");
}

TEST(RedisUrl, RejectsBadPorts) {
  Rejection("redis://h:");
  Rejection("redis://h:0");
  Rejection("redis://h:65536");
  Rejection("redis://h:99999999999999999999");
  Rejection("redis://h:-1");
  Rejection("redis://h:+1");
  Rejection("redis://h:63 79");
  Rejection("redis://[::1]:");
}

TEST(RedisUrl, RejectsBadDatabases) {
  Rejection("redis://h:1/x");
  Rejection("redis://h/-1");
  Rejection("redis://h/2147483648");
  Rejection("redis://h/0?timeout=1");
  Rejection("redis://h/0/1");
}

TEST(RedisUrl, MessagesNeverRepeatTheUrl) {
  // A forgotten "@host" puts the password where the port is expected.
  for (const std::string url : {"redis://user:s3cret", "redis://:s3cret@host:notaport", "redis://:s3cret@h/s3cret",
                                "redis://:s3cret%zz@h", "http://:s3cret@h", "redis://s3cret@h"}) {
    const std::string e = Rejection(url);
    EXPECT_EQ(e.find("s3cret"), std::string::npos) << url << " -> " << e;
  }
}

TEST(RedisUrl, RedactedNeverShowsThePassword) {
  for (const std::string url : {"redis://:hunter2@h", "redis://u:hunter2@h:1/2", "redis://u:hunter%32@[::1]"}) {
    const RedisUrl u = RedisUrl::Parse(url);
    EXPECT_EQ(u.Redacted().find("hunter"), std::string::npos) << u.Redacted();
    EXPECT_NE(u.Redacted().find("***"), std::string::npos) << u.Redacted();
  }
}
