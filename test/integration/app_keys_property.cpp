// app_keys_property: the randomized property test of the app-key store
// (sql/apply/app_keys.sql), as apply_property.cpp is for the other stores. A simulated
// node (the rule of docs/channels-and-keys.md 2.7, written here independently): per fid,
// random KEY_ADD and KEY_REMOVE submissions over a few keys, each with its nonce; the node
// takes one only when its nonce is above the fid's last one, a KEY_ADD replaces the key's
// held KEY_ADD (deleted_messages), a KEY_REMOVE deletes it (refused when none is held) and
// is not held; a refusal is a MERGE_FAILURE. The events are delivered in order, then
// shuffled, duplicated and cut into random batches, each one call of
// waypoint.apply_payloads. Then every key must show what the node holds, and a removed
// key the KEY_ADD its last KEY_REMOVE deleted and that remove ("mismatch ..." otherwise).
//
//   waypoint-app-keys-property [--seed S] [--rounds R]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hub_event.pb.h"
#include "hashed_message.hpp"
#include "message.pb.h"
#include "waypoint/core/hash.hpp"

namespace {

using waypoint::core::ToHex;

constexpr int kKeys = 3;

std::string KeyBytes(int key) { return std::string(32, static_cast<char>('k' + key)); }

struct Msg {
  int key;
  bool remove;
  Message proto;
};

struct Event {
  HubEventType type;
  int msg;
  int deleted;  // -1: none
  uint64_t id;
};

Message Encode(uint64_t fid, int key, bool remove, uint32_t nonce, uint32_t ts, int scopes) {
  MessageData d;
  d.set_fid(fid);
  d.set_timestamp(ts);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  if (remove) {
    d.set_type(MESSAGE_TYPE_KEY_REMOVE);
    d.mutable_key_remove_body()->set_key(KeyBytes(key));
    d.mutable_key_remove_body()->set_signature_type(1);
    d.mutable_key_remove_body()->set_nonce(nonce);
  } else {
    d.set_type(MESSAGE_TYPE_KEY_ADD);
    auto* b = d.mutable_key_add_body();
    b->set_key(KeyBytes(key));
    b->set_key_type(1);
    b->set_nonce(nonce);
    b->set_ttl(86400);
    for (int t = 1; t <= scopes; ++t) b->add_scopes(t);
  }
  return waypoint::testsupport::HashedMessage(std::move(d), '\x51', '\x5a');
}

struct SimNode {
  std::vector<Msg> msgs;
  std::map<int, int> held;                     // key -> KEY_ADD
  std::map<int, std::pair<int, int>> removed;  // key -> (KEY_ADD deleted, KEY_REMOVE) of its last remove
  std::vector<Event> events;
  uint32_t last_nonce = 0;
  uint64_t next_id;

  void Submit(int m, uint32_t nonce) {
    const Msg& x = msgs[m];
    auto it = held.find(x.key);
    if (nonce <= last_nonce || (x.remove && it == held.end())) {
      events.push_back({HUB_EVENT_TYPE_MERGE_FAILURE, m, -1, next_id++});
      return;
    }
    last_nonce = nonce;
    const int deleted = it == held.end() ? -1 : it->second;
    if (x.remove) {
      removed[x.key] = {it->second, m};
      held.erase(it);
    } else {
      held[x.key] = m;
      removed.erase(x.key);
    }
    events.push_back({HUB_EVENT_TYPE_MERGE_MESSAGE, m, deleted, next_id++});
  }
  std::string Payload(const Event& e) const {
    HubEvent h;
    h.set_type(e.type);
    h.set_id(e.id);
    h.set_shard_index(1);
    h.set_timestamp(150000000);
    if (e.type == HUB_EVENT_TYPE_MERGE_MESSAGE) {
      *h.mutable_merge_message_body()->mutable_message() = msgs[e.msg].proto;
      if (e.deleted >= 0) *h.mutable_merge_message_body()->add_deleted_messages() = msgs[e.deleted].proto;
    } else {
      *h.mutable_merge_failure()->mutable_message() = msgs[e.msg].proto;
      h.mutable_merge_failure()->set_code("bad_request.validation_failure");
    }
    return h.SerializeAsString();
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint32_t seed = 20261202;
  int rounds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seed"))
      seed = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: waypoint-app-keys-property [--seed S] [--rounds R]\n");
      return 2;
    }
  }
  std::mt19937 rng(seed);
  std::printf("\\set ON_ERROR_STOP on\n\\pset tuples_only on\n\\pset format unaligned\n");
  std::printf("SET client_min_messages = warning;\n");
  std::printf("CREATE TEMP TABLE expected (fid bigint, k text, hash bytea, remove_hash bytea);\n");
  std::string expected;
  uint64_t fid = 600000;
  uint64_t event_id = 1u << 20;
  for (int round = 0; round < rounds; ++round) {
    // One history (submissions of planned messages, each with the nonce it carries);
    // each delivery order gets a fid of its own.
    struct Plan {
      int key;
      bool remove;
      uint32_t ts;
      int scopes;
    };
    std::vector<Plan> plan;
    for (int i = 0; i < 10; ++i)
      plan.push_back({static_cast<int>(rng() % kKeys), rng() % 3 == 0, 1000 + static_cast<uint32_t>(rng() % 50),
                      1 + static_cast<int>(rng() % 4)});
    std::vector<std::pair<int, uint32_t>> steps;  // (planned message, its nonce)
    uint32_t nonce = 0;
    for (int s = 0; s < 16; ++s) {
      // Mostly the next nonce; sometimes a stale one (refused) or a gap.
      const uint32_t r = rng() % 10;
      nonce = r < 1 ? std::max<uint32_t>(nonce, 1) - 1 : nonce + 1 + (r < 2 ? 1 : 0);
      steps.push_back({static_cast<int>(rng() % plan.size()), nonce});
    }
    for (int order = 0; order < 4; ++order, ++fid) {
      SimNode node{{}, {}, {}, {}, 0, event_id};
      // A message per step: the nonce is in the signed body, so each step is its own message.
      for (auto [p, n] : steps) {
        const Plan& x = plan[p];
        node.msgs.push_back({x.key, x.remove, Encode(fid, x.key, x.remove, n, x.ts, x.scopes)});
      }
      for (size_t i = 0; i < steps.size(); ++i) node.Submit(static_cast<int>(i), steps[i].second);
      event_id = node.next_id + 1000;
      for (auto [key, m] : node.held)
        expected += "(" + std::to_string(fid) + ", '" + ToHex(KeyBytes(key)) + "', '\\x" +
                    ToHex(node.msgs[m].proto.hash()) + "', NULL),\n";
      for (auto [key, r] : node.removed)
        expected += "(" + std::to_string(fid) + ", '" + ToHex(KeyBytes(key)) + "', '\\x" +
                    ToHex(node.msgs[r.first].proto.hash()) + "', '\\x" + ToHex(node.msgs[r.second].proto.hash()) +
                    "'),\n";
      std::vector<Event> deliveries = node.events;
      if (order > 0) {
        for (size_t i = 0, n = deliveries.size(); n > 0 && i < n / 3 + 1; ++i)
          deliveries.push_back(deliveries[rng() % n]);
        std::shuffle(deliveries.begin(), deliveries.end(), rng);
      }
      for (size_t i = 0; i < deliveries.size();) {
        const size_t n = 1 + rng() % 6;
        std::string kinds, payloads, ids;
        for (size_t j = i; j < std::min(deliveries.size(), i + n); ++j) {
          ids += " " + std::to_string(deliveries[j].id);
          kinds += std::string(kinds.empty() ? "" : ",") + "'event'";
          payloads +=
              std::string(payloads.empty() ? "" : ",") + "'\\x" + ToHex(node.Payload(deliveries[j])) + "'::bytea";
        }
        i += n;
        std::printf("-- fid %llu, events%s\n", static_cast<unsigned long long>(fid), ids.c_str());
        std::printf(
            "SELECT 'rejected ' || coalesce(reason, '') FROM waypoint.apply_payloads(ARRAY[%s], ARRAY[%s]) "
            "WHERE NOT applied;\n",
            kinds.c_str(), payloads.c_str());
      }
    }
  }
  if (!expected.empty()) {
    expected.resize(expected.size() - 2);
    std::printf("INSERT INTO expected VALUES\n%s;\n", expected.c_str());
  }
  // Held keys: the KEY_ADD, not removed; removed keys: the KEY_ADD their last remove
  // deleted, with that remove. Keys never added have no row.
  std::printf(
      "WITH got AS (SELECT fid, encode(key, 'hex') AS k, message_hash AS hash,\n"
      "                    CASE WHEN removed THEN coalesce(remove_hash, '\\x00') END AS remove_hash\n"
      "               FROM waypoint.app_keys WHERE fid >= 600000)\n"
      "SELECT 'mismatch fid ' || coalesce(e.fid, g.fid) || ' key ' || coalesce(e.k, g.k) || ': node ' ||\n"
      "       coalesce(encode(e.hash, 'hex'), 'nothing') || ' removed by ' || coalesce(encode(e.remove_hash, 'hex'), "
      "'-') ||\n"
      "       ', database ' || coalesce(encode(g.hash, 'hex'), 'nothing') || ' removed by ' ||\n"
      "       coalesce(encode(g.remove_hash, 'hex'), '-')\n"
      "  FROM expected e FULL JOIN got g ON e.fid = g.fid AND e.k = g.k\n"
      " WHERE e.hash IS DISTINCT FROM g.hash OR e.remove_hash IS DISTINCT FROM g.remove_hash ORDER BY 1;\n"
      "SELECT 'checked ' || count(*) || ' keys of ' || count(DISTINCT fid) || ' fids, ' ||\n"
      "       count(*) FILTER (WHERE remove_hash IS NOT NULL) || ' removed' FROM expected;\n");
  return 0;
}
