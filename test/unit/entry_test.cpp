// The stream entry format: round trip, field order, and every rejection.
#include <gtest/gtest.h>

#include "waypoint/core/entry.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/routing.hpp"

using namespace waypoint::core;

namespace {

StreamEntry Sample() {
  StreamEntry e;
  e.kind = EntryKind::kMessage;
  e.shard = 2;
  e.event_id = MakeEventId(1000, 3);
  e.fid = 12345;
  e.source = EntrySource::kBackfill;
  e.job_id = "job-7";
  e.written_at_ms = 1700000000123;
  e.payload = std::string("\x00\x01\xff binary", 10);
  return e;
}

void ExpectDecodeError(const EntryFields& f) {
  try {
    DecodeEntry(f);
    FAIL() << "accepted a malformed entry";
  } catch (const Error& e) {
    EXPECT_EQ(e.cls(), ErrorClass::kDecode);
  }
}

}  // namespace

TEST(Entry, RoundTripKeepsEveryField) {
  StreamEntry e = Sample();
  StreamEntry d = DecodeEntry(EncodeEntry(e));
  EXPECT_EQ(d.kind, e.kind);
  EXPECT_EQ(d.shard, e.shard);
  EXPECT_EQ(d.event_id, e.event_id);
  EXPECT_EQ(d.fid, e.fid);
  EXPECT_EQ(d.source, e.source);
  EXPECT_EQ(d.job_id, e.job_id);
  EXPECT_EQ(d.written_at_ms, e.written_at_ms);
  EXPECT_EQ(d.payload, e.payload);
}

TEST(Entry, FieldsInDocumentedOrder) {
  EntryFields f = EncodeEntry(Sample());
  std::vector<std::string> names;
  for (auto& [k, v] : f) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"v", "k", "sh", "id", "fid", "src", "job", "ts", "d"}));
  EXPECT_EQ(f[0].second, "1");
  EXPECT_EQ(f[1].second, "message");
}

TEST(Entry, EveryKindRoundTrips) {
  for (EntryKind k : {EntryKind::kHubEvent, EntryKind::kMessage, EntryKind::kOnChainEvent, EntryKind::kUserNameProof,
                      EntryKind::kFidDone, EntryKind::kFidStart}) {
    StreamEntry e = Sample();
    e.kind = k;
    EXPECT_EQ(DecodeEntry(EncodeEntry(e)).kind, k) << EntryKindName(k);
  }
}

TEST(Entry, RejectsOtherVersionsUnknownKindsAndBadNumbers) {
  auto with = [](const std::string& field, const std::string& value) {
    EntryFields f = EncodeEntry(Sample());
    for (auto& kv : f)
      if (kv.first == field) kv.second = value;
    return f;
  };
  ExpectDecodeError(with("v", "2"));
  ExpectDecodeError(with("k", "bogus"));
  ExpectDecodeError(with("src", "bogus"));
  ExpectDecodeError(with("fid", "12x"));
  ExpectDecodeError(with("fid", ""));
  ExpectDecodeError(with("sh", "-1"));
}

TEST(Entry, RejectsMissingRequiredFields) {
  for (const char* missing : {"v", "k", "d"}) {
    EntryFields f;
    for (auto& kv : EncodeEntry(Sample()))
      if (kv.first != missing) f.push_back(kv);
    ExpectDecodeError(f);
  }
}
