// apply_property: the randomized property test of the apply, run against the SQL that
// ships. It simulates a node's stores (written here from the store rules of
// docs/apply-semantics.md, independently of the extension): per fid, random messages
// over a few keys are merged (superseding the key's current message, or refused when
// they do not beat it), re-merged after their death, pruned and revoked. The node's
// events are then delivered shuffled, duplicated and cut into random batches, and every
// batch is one call of waypoint.apply_payloads (the workers' own apply). The program
// prints a psql script: the batches, then a query that lists every key whose live
// winner in the database differs from what the node holds ("mismatch ..."), then
// "checked N". The casts form random threads (replies to earlier casts, to casts never
// seen, channel tops); thread roots are resolved between random batches, as the workers
// do, and every held cast's root is checked against the rule computed here; then the
// set-based pass (waypoint.rebuild_thread_roots) must leave every casts row as it is.
// apply_property.sh runs it on a temporary instance.
//
//   waypoint-apply-property [--seed S] [--rounds R]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "hub_event.pb.h"
#include "hashed_message.hpp"
#include "message.pb.h"
#include "waypoint/core/hash.hpp"

namespace {

using waypoint::core::ToHex;

enum class Store { kReaction, kLink, kUserData, kCast };
const char* StoreName(Store s) {
  switch (s) {
    case Store::kReaction: return "reaction";
    case Store::kLink: return "link";
    case Store::kUserData: return "user_data";
    case Store::kCast: return "cast";
  }
  return "?";
}

constexpr int kKeys = 3;
constexpr int kCastKeys = 8;  // casts: enough for threads of a few levels

// A cast's parent in the simulated history: another key, none, or a cast never seen.
constexpr int kNoParent = -1;
constexpr int kPhantomParent = -2;
std::string PhantomHash() { return std::string(20, 'z'); }
std::string TopUrl(int key) { return "https://example.com/channel/" + std::to_string(key); }

// One message of the simulated fid, before it is encoded.
struct Msg {
  int key;
  uint32_t ts;
  bool removed;
  Message proto;  // encoded, with its real hash
};

// A hub event of the node: a merge (with the messages it superseded) or a prune/revoke.
struct Event {
  HubEventType type;
  int msg;
  std::vector<int> deleted;
  uint64_t id;
};

std::string CastTarget(int key) { return std::string(20, static_cast<char>('a' + key)); }

// The message of `store` for `key`; a cast's key is its add, whose hash the removes
// target (cast_hashes[key]); its parent is parents[key] (a key before it, or none: then
// every other top cast is in a channel, or a phantom).
Message Encode(Store store, uint64_t fid, int key, uint32_t ts, bool removed, uint32_t salt,
               const std::vector<std::string>& cast_hashes, const std::vector<int>& parents) {
  MessageData d;
  d.set_fid(fid);
  d.set_timestamp(ts);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  switch (store) {
    case Store::kReaction:
      d.set_type(removed ? MESSAGE_TYPE_REACTION_REMOVE : MESSAGE_TYPE_REACTION_ADD);
      d.mutable_reaction_body()->set_type(REACTION_TYPE_LIKE);
      d.mutable_reaction_body()->mutable_target_cast_id()->set_fid(1);
      d.mutable_reaction_body()->mutable_target_cast_id()->set_hash(CastTarget(key));
      break;
    case Store::kLink:
      d.set_type(removed ? MESSAGE_TYPE_LINK_REMOVE : MESSAGE_TYPE_LINK_ADD);
      d.mutable_link_body()->set_type("follow");
      d.mutable_link_body()->set_target_fid(1000 + key);
      break;
    case Store::kUserData:
      d.set_type(MESSAGE_TYPE_USER_DATA_ADD);
      d.mutable_user_data_body()->set_type(static_cast<UserDataType>(USER_DATA_TYPE_PFP + key));
      d.mutable_user_data_body()->set_value("v" + std::to_string(salt));
      break;
    case Store::kCast:
      if (removed) {
        d.set_type(MESSAGE_TYPE_CAST_REMOVE);
        d.mutable_cast_remove_body()->set_target_hash(cast_hashes[key]);
      } else {
        d.set_type(MESSAGE_TYPE_CAST_ADD);
        auto* b = d.mutable_cast_add_body();
        b->set_text("cast " + std::to_string(key));
        const int p = parents[key];
        if (p >= 0 || p == kPhantomParent) {
          b->mutable_parent_cast_id()->set_fid(fid);
          b->mutable_parent_cast_id()->set_hash(p >= 0 ? cast_hashes[p] : PhantomHash());
        } else if (key % 2 == 0) {
          b->set_parent_url(TopUrl(key));
        }
      }
      break;
  }
  return waypoint::testsupport::HashedMessage(std::move(d), '\x51', '\x5a');
}

// The node's store of one fid: per key the message it holds; an event per change.
struct SimNode {
  Store store;
  std::vector<Msg> msgs;
  std::map<int, int> held;  // key -> message index
  std::vector<Event> events;
  uint64_t next_id;

  // The store order (highest wins): casts put removes first, the other stores compare
  // timestamps first and let a remove win a tie; the hash decides the rest.
  bool Beats(const Msg& a, const Msg& b) const {
    auto k = [&](const Msg& m) {
      return store == Store::kCast ? std::make_tuple(m.removed ? 1 : 0, m.ts, 0, m.proto.hash())
                                   : std::make_tuple(0, m.ts, m.removed ? 1 : 0, m.proto.hash());
    };
    return k(a) > k(b);
  }
  void Submit(int m) {
    auto it = held.find(msgs[m].key);
    std::vector<int> deleted;
    if (it != held.end()) {
      if (it->second == m || !Beats(msgs[m], msgs[it->second])) return;  // duplicate or refused
      deleted.push_back(it->second);
    }
    held[msgs[m].key] = m;
    events.push_back({HUB_EVENT_TYPE_MERGE_MESSAGE, m, deleted, next_id++});
  }
  void Kill(int key, bool revoke) {
    auto it = held.find(key);
    if (it == held.end()) return;
    events.push_back(
        {revoke ? HUB_EVENT_TYPE_REVOKE_MESSAGE : HUB_EVENT_TYPE_PRUNE_MESSAGE, it->second, {}, next_id++});
    held.erase(it);
  }
  std::string Payload(const Event& e) const {
    HubEvent h;
    h.set_type(e.type);
    h.set_id(e.id);
    h.set_shard_index(1);
    h.set_timestamp(150000000);
    const Message& m = msgs[e.msg].proto;
    if (e.type == HUB_EVENT_TYPE_MERGE_MESSAGE) {
      *h.mutable_merge_message_body()->mutable_message() = m;
      for (int d : e.deleted) *h.mutable_merge_message_body()->add_deleted_messages() = msgs[d].proto;
    } else if (e.type == HUB_EVENT_TYPE_PRUNE_MESSAGE) {
      *h.mutable_prune_message_body()->mutable_message() = m;
    } else {
      *h.mutable_revoke_message_body()->mutable_message() = m;
    }
    return h.SerializeAsString();
  }
};

// What the key is called in the query of the database (the last SELECT).
std::string KeyText(Store store, int key, const std::vector<std::string>& cast_hashes) {
  switch (store) {
    case Store::kReaction: return ToHex(CastTarget(key));
    case Store::kLink: return std::to_string(1000 + key);
    case Store::kUserData: return std::to_string(USER_DATA_TYPE_PFP + key);
    case Store::kCast: return ToHex(cast_hashes[key]);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t seed = 20261201;
  int rounds = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seed"))
      seed = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: waypoint-apply-property [--seed S] [--rounds R]\n");
      return 2;
    }
  }
  std::mt19937 rng(seed);
  std::printf("\\set ON_ERROR_STOP on\n\\pset tuples_only on\n\\pset format unaligned\n");
  std::printf("SET client_min_messages = warning;\n");
  std::printf("CREATE TEMP TABLE expected (store text, fid bigint, k text, hash bytea);\n");
  std::printf("CREATE TEMP TABLE expected_threads (fid bigint, k text, root_hash text, root_url text);\n");
  std::string expected, expected_threads;
  uint64_t fid = 500000;
  uint64_t event_id = 1u << 20;
  const Store stores[] = {Store::kReaction, Store::kLink, Store::kUserData, Store::kCast};
  for (Store store : stores) {
    for (int round = 0; round < rounds; ++round) {
      // One history; each delivery order gets a fid of its own (the same history, so
      // every order must end in the same state).
      struct Plan {
        int key;
        uint32_t ts;
        bool removed;
      };
      std::vector<Plan> plan;
      const int keys = store == Store::kCast ? kCastKeys : kKeys;
      std::vector<int> parents(keys, kNoParent);  // casts: a random forest of threads
      if (store == Store::kCast) {
        for (int k = 1; k < keys; ++k) {
          const int r = static_cast<int>(rng() % 10);
          parents[k] = r < 4 ? k - 1 : r < 7 ? static_cast<int>(rng() % k) : r < 8 ? kPhantomParent : kNoParent;
        }
        for (int k = 0; k < keys; ++k) plan.push_back({k, 1000 + static_cast<uint32_t>(rng() % 5), false});
        for (int i = 0; i < 3; ++i)
          plan.push_back({static_cast<int>(rng() % keys), 1000 + static_cast<uint32_t>(rng() % 5), true});
      } else {
        for (int i = 0; i < 12; ++i)
          plan.push_back({static_cast<int>(rng() % kKeys), 1000 + static_cast<uint32_t>(rng() % 5),
                          store != Store::kUserData && rng() % 3 == 0});
      }
      std::vector<std::pair<int, int>> steps;  // (0 submit m | 1 prune k | 2 revoke k, arg)
      // (casts: more merges, so that threads of several held casts form)
      const int submit_in_10 = store == Store::kCast ? 8 : 7;
      for (int s = 0; s < 28; ++s) {
        const int r = static_cast<int>(rng() % 10);
        if (r < submit_in_10)
          steps.push_back({0, static_cast<int>(rng() % plan.size())});
        else
          steps.push_back({r < 9 ? 1 : 2, static_cast<int>(rng() % keys)});
      }
      for (int order = 0; order < 4; ++order, ++fid) {
        SimNode node{store, {}, {}, {}, event_id};
        std::vector<std::string> cast_hashes(keys);
        for (size_t i = 0; i < plan.size(); ++i) {
          const Plan& p = plan[i];
          Msg m{p.key, p.ts, p.removed,
                Encode(store, fid, p.key, p.ts, p.removed, static_cast<uint32_t>(i), cast_hashes, parents)};
          if (store == Store::kCast && !p.removed) cast_hashes[p.key] = m.proto.hash();
          node.msgs.push_back(std::move(m));
        }
        for (auto [what, arg] : steps) {
          if (what == 0)
            node.Submit(arg);
          else
            node.Kill(arg, what == 2);
        }
        event_id = node.next_id + 1000;
        for (auto [key, m] : node.held)
          expected += "('" + std::string(StoreName(store)) + "', " + std::to_string(fid) + ", '" +
                      KeyText(store, key, cast_hashes) + "', '\\x" + ToHex(node.msgs[m].proto.hash()) + "'),\n";
        if (store == Store::kCast) {
          // Thread roots by the rule (docs/apply-semantics.md): up through the parents the
          // node holds as adds; a parent it does not hold ends the thread there.
          auto held_add = [&](int k) {
            auto h = node.held.find(k);
            return h != node.held.end() && !node.msgs[h->second].removed;
          };
          for (int k = 0; k < keys; ++k) {
            if (!held_add(k)) continue;
            int cur = k;
            std::string root, url;
            for (;;) {
              const int p = parents[cur];
              if (p == kNoParent) {
                root = cast_hashes[cur];
                if (cur % 2 == 0) url = TopUrl(cur);
                break;
              }
              if (p == kPhantomParent || !held_add(p)) {
                root = p == kPhantomParent ? PhantomHash() : cast_hashes[p];
                break;
              }
              cur = p;
            }
            expected_threads += "(" + std::to_string(fid) + ", '" + ToHex(cast_hashes[k]) + "', '" + ToHex(root) +
                                "', " + (url.empty() ? "NULL" : "'" + url + "'") + "),\n";
          }
        }
        std::vector<Event> deliveries = node.events;
        if (order > 0) {
          // Redelivery and the node's own duplicates, then any order.
          for (size_t i = 0, n = deliveries.size(); n > 0 && i < n / 3 + 1; ++i)
            deliveries.push_back(deliveries[rng() % n]);
          std::shuffle(deliveries.begin(), deliveries.end(), rng);
        }
        for (size_t i = 0; i < deliveries.size();) {
          const size_t n = 1 + rng() % 6;
          std::string kinds, payloads;
          for (size_t j = i; j < std::min(deliveries.size(), i + n); ++j) {
            kinds += std::string(kinds.empty() ? "" : ",") + "'event'";
            payloads +=
                std::string(payloads.empty() ? "" : ",") + "'\\x" + ToHex(node.Payload(deliveries[j])) + "'::bytea";
          }
          i += n;
          std::printf(
              "SELECT 'rejected ' || coalesce(reason, '') FROM waypoint.apply_payloads(ARRAY[%s], ARRAY[%s]) "
              "WHERE NOT applied;\n",
              kinds.c_str(), payloads.c_str());
          // The workers resolve thread roots between batches, not after each one.
          if (rng() % 3 == 0)
            std::printf("SELECT 'resolved ' || waypoint.resolve_thread_roots(%u);\n",
                        static_cast<unsigned>(1 + rng() % 8));
        }
      }
    }
  }
  if (!expected.empty()) {
    expected.resize(expected.size() - 2);
    std::printf("INSERT INTO expected VALUES\n%s;\n", expected.c_str());
  }
  if (!expected_threads.empty()) {
    expected_threads.resize(expected_threads.size() - 2);
    std::printf("INSERT INTO expected_threads VALUES\n%s;\n", expected_threads.c_str());
  }
  // Whatever is still queued, then every held cast's root against the rule's.
  std::printf(
      "DO $$ BEGIN WHILE waypoint.resolve_thread_roots() > 0 LOOP END LOOP; END $$;\n"
      "WITH got AS (SELECT fid, encode(hash, 'hex') AS k, encode(root_hash, 'hex') AS root_hash, root_url\n"
      "  FROM waypoint.casts WHERE fid >= 500000 AND NOT removed AND pruned_at IS NULL AND revoked_at IS NULL\n"
      "   AND dropped_at IS NULL)\n"
      "SELECT 'mismatch thread fid ' || coalesce(e.fid, g.fid) || ' cast ' || coalesce(e.k, g.k) || ': node ' ||\n"
      "       coalesce(e.root_hash || ' ' || coalesce(e.root_url, '-'), 'nothing') || ', database ' ||\n"
      "       coalesce(g.root_hash || ' ' || coalesce(g.root_url, '-'), 'nothing')\n"
      "  FROM expected_threads e FULL JOIN got g ON e.fid = g.fid AND e.k = g.k\n"
      " WHERE (e.root_hash, e.root_url) IS DISTINCT FROM (g.root_hash, g.root_url) ORDER BY 1;\n"
      "SELECT 'checked ' || count(*) || ' thread roots' FROM expected_threads;\n");
  // The set-based pass (waypoint.rebuild_thread_roots) computes every cast's root anew:
  // it must leave every row, held or not, as the incremental resolver left it.
  std::printf(
      "CREATE TEMP TABLE incremental_roots AS\n"
      "  SELECT fid, hash, root_fid, root_hash, root_url, root_open FROM waypoint.casts;\n"
      "INSERT INTO waypoint.cast_thread_queue SELECT fid, hash FROM waypoint.casts;\n"
      "SELECT 'rebuilt ' || waypoint.rebuild_thread_roots();\n"
      "SELECT 'mismatch rebuild fid ' || coalesce(i.fid, c.fid) || ' cast ' ||\n"
      "       encode(coalesce(i.hash, c.hash), 'hex') || ': incremental ' ||\n"
      "       coalesce(encode(i.root_hash, 'hex'), '-') || ' ' || coalesce(i.root_open::text, '-') ||\n"
      "       ', set-based ' || coalesce(encode(c.root_hash, 'hex'), '-') || ' ' || coalesce(c.root_open::text, '-')\n"
      "  FROM incremental_roots i FULL JOIN waypoint.casts c ON c.fid = i.fid AND c.hash = i.hash\n"
      " WHERE (i.root_fid, i.root_hash, i.root_url, i.root_open) IS DISTINCT FROM\n"
      "       (c.root_fid, c.root_hash, c.root_url, c.root_open) ORDER BY 1;\n"
      "SELECT 'checked ' || count(*) || ' casts rows against the set-based pass' FROM incremental_roots;\n");
  // The live winner of every key (a row shows no tombstone while its winner is alive).
  std::printf(
      "WITH got AS (\n"
      "  SELECT 'reaction' AS store, fid, encode(target_cast_hash, 'hex') AS k, message_hash AS hash FROM "
      "waypoint.reactions\n"
      "   WHERE fid >= 500000 AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL\n"
      "  UNION ALL SELECT 'link', fid, target_fid::text, message_hash FROM waypoint.links\n"
      "   WHERE fid >= 500000 AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL\n"
      "  UNION ALL SELECT 'user_data', fid, user_data_type::text, message_hash FROM waypoint.user_data\n"
      "   WHERE fid >= 500000 AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL\n"
      "  UNION ALL SELECT 'cast', fid, encode(hash, 'hex'), message_hash FROM waypoint.casts\n"
      "   WHERE fid >= 500000 AND pruned_at IS NULL AND revoked_at IS NULL AND dropped_at IS NULL)\n"
      "SELECT 'mismatch ' || coalesce(e.store, g.store) || ' fid ' || coalesce(e.fid, g.fid) || ' key ' ||\n"
      "       coalesce(e.k, g.k) || ': node ' || coalesce(encode(e.hash, 'hex'), 'nothing') || ', database ' ||\n"
      "       coalesce(encode(g.hash, 'hex'), 'nothing')\n"
      "  FROM expected e FULL JOIN got g ON e.store = g.store AND e.fid = g.fid AND e.k = g.k\n"
      " WHERE e.hash IS DISTINCT FROM g.hash ORDER BY 1;\n"
      "SELECT 'checked ' || count(*) || ' keys of ' || count(DISTINCT fid) || ' fids' FROM expected;\n");
  return 0;
}
