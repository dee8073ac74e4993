// The CRDT rules: store orders, the message standing (alive unless its latest tombstone is
// at or after its latest merge), and a randomized property test against a simulated node:
// the node's history of one fid (merges that supersede or are refused, prunes, revokes,
// re-merges after death) is delivered shuffled, duplicated and cut into random batches;
// each batch goes through the engine's rules (messages merged by event id, one candidate
// per key by CompareInBatch, then Replaces against the row) and the visible state (the
// alive winner of each key) must equal what the node holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "waypoint/core/crdt.hpp"

using namespace waypoint::core;

namespace {

Candidate C(uint32_t ts, bool removed, char h) { return Candidate{std::string(20, h), 1, ts, removed}; }

// One message of the simulated fid: its key and candidate.
struct Msg {
  std::string key;
  Candidate c;
};

// A hub event: a merge (with the messages it superseded) or a tombstone.
struct Event {
  int64_t id;
  bool merge;
  int msg;
  std::vector<int> deleted;
};

// The node's store for one fid, written from the spec (§6.6), not from crdt.cpp.
struct SimNode {
  Store store;
  std::vector<Msg> msgs;
  std::map<std::string, int> held;  // key -> message index
  std::vector<Event> events;
  int64_t next_id = 100;

  bool Beats(const Candidate& a, const Candidate& b) const {
    auto k = [&](const Candidate& c) {
      return store == Store::kCast ? std::make_tuple(c.removed ? 1 : 0, c.timestamp, 0, c.message_hash)
                                   : std::make_tuple(0, c.timestamp, c.removed ? 1 : 0, c.message_hash);
    };
    return k(a) > k(b);
  }
  void Submit(int m) {
    auto it = held.find(msgs[m].key);
    std::vector<int> deleted;
    if (it != held.end()) {
      if (it->second == m || !Beats(msgs[m].c, msgs[it->second].c)) return;  // duplicate / refused
      deleted.push_back(it->second);
    }
    held[msgs[m].key] = m;
    events.push_back({next_id++, true, m, deleted});
  }
  void Kill(const std::string& key) {  // prune or revoke
    auto it = held.find(key);
    if (it == held.end()) return;
    events.push_back({next_id++, false, it->second, {}});
    held.erase(it);
  }
};

// The database as the engine keeps it: per message (latest merge, latest tombstone), per
// key the winner.
struct SimDb {
  Store store;
  std::map<int, std::pair<std::optional<int64_t>, std::optional<int64_t>>> standing;
  std::map<std::string, int> rows;

  Standing Of(const std::vector<Msg>& msgs, int m) const {
    const auto& st = standing.at(m);
    return Standing{msgs[m].c, Alive(st.first, st.second), st.first};
  }
  void ApplyBatch(const std::vector<Msg>& msgs, const std::vector<Event>& batch) {
    std::vector<int> offered;
    auto bump = [](std::optional<int64_t>& v, int64_t id) {
      if (!v || id > *v) v = id;
    };
    for (const Event& e : batch) {
      auto& st = standing[e.msg];
      e.merge ? bump(st.first, e.id) : bump(st.second, e.id);
      offered.push_back(e.msg);
      for (int d : e.deleted) {
        bump(standing[d].second, e.id);
        offered.push_back(d);
      }
    }
    std::map<std::string, int> pick;  // the DISTINCT ON of the statement
    for (int m : offered) {
      auto [it, inserted] = pick.emplace(msgs[m].key, m);
      if (!inserted && CompareInBatch(store, Of(msgs, m), Of(msgs, it->second)) > 0) it->second = m;
    }
    for (auto [key, m] : pick) {
      auto row = rows.find(key);
      if (row == rows.end()) rows.emplace(key, m);
      else if (Replaces(store, Of(msgs, m), Of(msgs, row->second))) row->second = m;
    }
  }
  std::map<std::string, std::string> Visible(const std::vector<Msg>& msgs) const {
    std::map<std::string, std::string> out;
    for (auto [key, m] : rows)
      if (Of(msgs, m).alive) out[key] = msgs[m].c.message_hash;
    return out;
  }
};

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

TEST(Crdt, ReduceProofsKeepsEachProofWithItsStanding) {
  ProofRow p;
  p.name = "bob";
  p.timestamp = 5;
  p.signature = "s";
  p.merge_event = 10;
  ProofRow del = p;
  del.deleted = true;
  del.merge_event.reset();
  del.death_event = 12;
  ProofRow older = p;
  older.timestamp = 4;
  auto out = ReduceProofs({p, older, del});
  ASSERT_EQ(out.size(), 2u);  // the statement picks per name
  EXPECT_TRUE(out[0].deleted);
  EXPECT_EQ(out[0].merge_event, 10);
  EXPECT_EQ(out[0].death_event, 12);
  EXPECT_FALSE(Alive(out[0].merge_event, out[0].death_event));
  EXPECT_EQ(out[1].timestamp, 4u);
}

TEST(Crdt, StandingByEventIds) {
  EXPECT_TRUE(Alive(std::nullopt, std::nullopt));  // a backfill page, nothing else
  EXPECT_TRUE(Alive(7, std::nullopt));
  EXPECT_FALSE(Alive(7, 7));  // superseded in its own merge's event: dead
  EXPECT_FALSE(Alive(7, 9));
  EXPECT_TRUE(Alive(11, 9));  // merged again after the revoke: revived
  EXPECT_FALSE(Alive(std::nullopt, 0));  // page then reconciled/tombstone without id
  EXPECT_FALSE(Alive(0, 0));  // events without ids: a tombstone is final, as before
}

TEST(Crdt, ReduceMessagesKeepsLatestEventIds) {
  MessageRow m;
  m.hash = "h";
  MessageRow a = m, b = m, c = m;
  a.merge_event = 5;
  b.death_event = 9;
  c.merge_event = 12;
  auto out = ReduceMessages({a, b, m, c});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].merge_event, 12);
  EXPECT_EQ(out[0].death_event, 9);
}

TEST(Crdt, RemergeAfterDeathOfAHigherMessage) {
  // Merge X (ts 7... higher), revoke X, merge an OLDER Y: the node holds Y.
  const Standing x_dead{C(200, false, 'x'), false, 10};
  const Standing y{C(100, false, 'y'), true, 30};
  EXPECT_TRUE(Replaces(Store::kReaction, y, x_dead));
  EXPECT_GT(CompareInBatch(Store::kReaction, y, x_dead), 0);
  // Both alive (X's revoke not seen yet): the later merge wins.
  const Standing x_alive{C(200, false, 'x'), true, 10};
  EXPECT_TRUE(Replaces(Store::kReaction, y, x_alive));
  EXPECT_FALSE(Replaces(Store::kReaction, x_alive, y));
  // A page (no event id) against an alive winner: store order.
  const Standing page{C(100, false, 'p'), true, std::nullopt};
  EXPECT_FALSE(Replaces(Store::kReaction, page, x_alive));
  EXPECT_TRUE(Replaces(Store::kReaction, page, x_dead));
  // A dead candidate never replaces an alive winner, whatever its order.
  EXPECT_FALSE(Replaces(Store::kReaction, x_dead, y));
  // Both dead: store order.
  const Standing y_dead{C(100, false, 'y'), false, 30};
  EXPECT_TRUE(Replaces(Store::kReaction, x_dead, y_dead));
  EXPECT_FALSE(Replaces(Store::kReaction, y_dead, x_dead));
}

// Random histories of one fid, delivered in any order with duplicates and random batches.
void RandomHistories(Store store, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int round = 0; round < 300; ++round) {
    SimNode node;
    node.store = store;
    for (int i = 0; i < 14; ++i) {
      std::string hash(20, '\0');
      for (auto& ch : hash) ch = static_cast<char>(rng() & 0xff);
      Msg m;
      m.key = std::string(1, static_cast<char>('a' + rng() % 3));
      m.c = Candidate{hash, 1, static_cast<uint32_t>(rng() % 5), (rng() % 3) == 0};
      node.msgs.push_back(m);
    }
    for (int step = 0; step < 30; ++step) {
      const int r = static_cast<int>(rng() % 10);
      if (r < 6) node.Submit(static_cast<int>(rng() % node.msgs.size()));  // new or re-merge
      else node.Kill(std::string(1, static_cast<char>('a' + rng() % 3)));
    }
    std::map<std::string, std::string> want;
    for (auto [key, m] : node.held) want[key] = node.msgs[m].c.message_hash;

    for (int order = 0; order < 6; ++order) {
      std::vector<Event> deliveries = node.events;
      if (order > 0) {
        // Redelivery and node duplicates; then any order (repairs arrive late, replays early).
        for (size_t i = 0, n = deliveries.size(); i < n / 3 + 1 && n > 0; ++i)
          deliveries.push_back(deliveries[rng() % n]);
        std::shuffle(deliveries.begin(), deliveries.end(), rng);
      }
      SimDb db;
      db.store = store;
      size_t i = 0;
      while (i < deliveries.size()) {
        const size_t n = 1 + rng() % 5;
        std::vector<Event> batch(deliveries.begin() + i, deliveries.begin() + std::min(deliveries.size(), i + n));
        i += n;
        db.ApplyBatch(node.msgs, batch);
      }
      ASSERT_EQ(db.Visible(node.msgs), want) << "round " << round << " order " << order;
    }
  }
}

TEST(Crdt, RandomHistoriesInAnyOrderMatchTheNode) {
  RandomHistories(Store::kReaction, 20240531);
  RandomHistories(Store::kCast, 7);
  RandomHistories(Store::kLendStorage, 12);
}
