// The CRDT reduction: store orders, and a randomized property test. The same set of
// candidates, shuffled, duplicated and cut into random batches, each batch reduced
// (ReduceByKey) and then merged into a "table" with the SQL rule (replace when the
// new candidate orders higher), must always equal a simple reference model: the max
// per key by an independently written tuple comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "waypoint/core/crdt.hpp"

using namespace waypoint::core;

namespace {

Candidate C(uint32_t ts, bool removed, char h) { return Candidate{std::string(20, h), 1, ts, removed}; }

// Reference: the order as tuples, written without CompareCandidates.
std::tuple<int, uint32_t, int, std::string> RefKey(Store s, const Candidate& c) {
  if (s == Store::kCast) return {c.removed ? 1 : 0, c.timestamp, 0, c.message_hash};
  return {0, c.timestamp, c.removed ? 1 : 0, c.message_hash};
}

template <typename Row>
std::map<std::string, std::string> Reference(Store s, const std::vector<Row>& rows) {
  std::map<std::string, const Row*> best;
  for (const Row& r : rows) {
    auto [it, inserted] = best.emplace(r.Key(), &r);
    if (!inserted && RefKey(s, r.c) > RefKey(s, it->second->c)) it->second = &r;
  }
  std::map<std::string, std::string> out;
  for (auto& [k, r] : best) out[k] = r->c.message_hash;
  return out;
}

template <typename Row>
std::map<std::string, std::string> ApplyInBatches(Store s, std::vector<Row> rows, std::mt19937& rng) {
  std::shuffle(rows.begin(), rows.end(), rng);
  std::map<std::string, Row> table;
  size_t i = 0;
  while (i < rows.size()) {
    size_t n = 1 + rng() % 7;
    std::vector<Row> batch(rows.begin() + i, rows.begin() + std::min(rows.size(), i + n));
    i += n;
    for (const Row& r : ReduceByKey(s, batch)) {
      auto it = table.find(r.Key());
      if (it == table.end())
        table.emplace(r.Key(), r);
      else if (CompareCandidates(s, r.c, it->second.c) >= 0)  // ON CONFLICT ... WHERE new >= old
        it->second = r;
    }
  }
  std::map<std::string, std::string> out;
  for (auto& [k, r] : table) out[k] = r.c.message_hash;
  return out;
}

}  // namespace

TEST(Crdt, CastRemoveBeatsAddWhateverTheTimestamp) {
  EXPECT_GT(CompareCandidates(Store::kCast, C(1, true, 'a'), C(9, false, 'z')), 0);
  EXPECT_LT(CompareCandidates(Store::kCast, C(9, false, 'z'), C(1, true, 'a')), 0);
  EXPECT_GT(CompareCandidates(Store::kCast, C(2, true, 'a'), C(1, true, 'z')), 0);
}

TEST(Crdt, OtherStoresTimestampThenRemoveThenHash) {
  for (Store s : {Store::kReaction, Store::kLink, Store::kVerification, Store::kUserData, Store::kLendStorage}) {
    EXPECT_GT(CompareCandidates(s, C(2, false, 'a'), C(1, true, 'z')), 0);
    EXPECT_GT(CompareCandidates(s, C(1, true, 'a'), C(1, false, 'z')), 0);
    EXPECT_GT(CompareCandidates(s, C(1, false, 'b'), C(1, false, 'a')), 0);
    EXPECT_EQ(CompareCandidates(s, C(1, false, 'a'), C(1, false, 'a')), 0);
  }
  // Hash bytes compare unsigned.
  EXPECT_GT(CompareCandidates(Store::kLink, C(1, false, '\xf0'), C(1, false, '\x10')), 0);
}

TEST(Crdt, ProofsOrderByTimestampThenSignature) {
  ProofRow a, b;
  a.name = b.name = "bob";
  a.timestamp = 2;
  b.timestamp = 1;
  b.signature = "\xff";
  EXPECT_GT(CompareProofs(a, b), 0);
  b.timestamp = 2;
  EXPECT_LT(CompareProofs(a, b), 0);
}

TEST(Crdt, ReduceMessagesOrsLifecycleAndKeepsEarliestTime) {
  MessageRow m;
  m.hash = "h";
  MessageRow pruned = m, revoked = m;
  pruned.pruned = true;
  pruned.event_unix = 50;
  revoked.revoked = true;
  revoked.event_unix = 40;
  auto out = ReduceMessages({m, pruned, m, revoked});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].pruned && out[0].revoked && !out[0].dropped);
  EXPECT_EQ(out[0].event_unix, 40);
}

TEST(Crdt, ReduceProofsOrsDeletedOfTheSameProof) {
  ProofRow p;
  p.name = "bob";
  p.timestamp = 5;
  p.signature = "s";
  ProofRow del = p;
  del.deleted = true;
  ProofRow older = p;
  older.timestamp = 4;
  older.deleted = false;
  auto out = ReduceProofs({p, older, del});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].deleted);
  EXPECT_EQ(out[0].timestamp, 5u);
}

TEST(Crdt, RandomOrdersDuplicatesAndBatchesMatchTheReference) {
  std::mt19937 rng(20240531);
  for (int round = 0; round < 200; ++round) {
    // A pool of distinct messages over few keys, with many timestamp ties.
    std::vector<ReactionRow> reactions;
    std::vector<CastRow> casts;
    for (int i = 0; i < 40; ++i) {
      std::string hash(20, '\0');
      for (auto& ch : hash) ch = static_cast<char>(rng() & 0xff);
      ReactionRow r;
      r.c = Candidate{hash, 1 + rng() % 2, static_cast<uint32_t>(rng() % 4), (rng() % 2) == 1};
      r.reaction_type = 1 + rng() % 2;
      r.target_key = std::string(1, static_cast<char>('a' + rng() % 3));
      reactions.push_back(r);
      CastRow c;
      c.c = Candidate{hash, 1 + rng() % 2, static_cast<uint32_t>(rng() % 4), (rng() % 3) == 0};
      c.cast_hash = std::string(1, static_cast<char>('a' + rng() % 4));
      casts.push_back(c);
    }
    // Duplicates, as the node and redelivery produce them.
    for (int i = 0; i < 20; ++i) {
      reactions.push_back(reactions[rng() % 40]);
      casts.push_back(casts[rng() % 40]);
    }
    auto ref_r = Reference(Store::kReaction, reactions);
    auto ref_c = Reference(Store::kCast, casts);
    for (int order = 0; order < 5; ++order) {
      ASSERT_EQ(ApplyInBatches(Store::kReaction, reactions, rng), ref_r) << "round " << round;
      ASSERT_EQ(ApplyInBatches(Store::kCast, casts, rng), ref_c) << "round " << round;
    }
  }
}
