// channels_property: the randomized property test of the channel slot stores
// (sql/apply/channel_*.sql), as app_keys_property.cpp is for app keys. A simulated node
// (the rule of docs/channels-and-keys.md 2.0, written here independently): per round a
// channel and random channel messages of every type over a few slots (a member slot per
// target fid, a moderation slot per cast, the pin, the update), by several authors, with
// timestamps in any order and earlier messages submitted again; each merge takes its slot
// (the holder in deleted_messages), whatever the timestamps; the holder submitted again is a
// duplicate and emits nothing. Every merge is emitted on data shard 1 and on data shard 2,
// each with its own event ids (shard 2's above or below shard 1's). The events of both shards
// are delivered in order, then shuffled, duplicated and cut into random batches, each one call
// of waypoint.apply_payloads with the entry's shard. Then every slot must hold the node's
// message, with the node's member state, pin and hidden flag ("mismatch ..." otherwise).
//
//   waypoint-channels-property [--seed S] [--rounds R]
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

struct Msg {
  std::string slot;   // "update", "pin", "member <fid>", "moderation <cast hex>"
  std::string state;  // what the slot shows while this message holds it
  Message proto;
};

struct Event {
  int msg;
  int deleted;  // -1: none
  uint64_t id1, id2;
};

std::string State(int action) {
  switch (action) {
    case 1:
    case 4: return "member";
    case 3: return "moderator";
    case 5: return "banned";
    default: return "removed";
  }
}

Msg Random(std::mt19937& rng, const std::string& channel, uint64_t base_fid) {
  MessageData d;
  d.set_fid(base_fid + rng() % 4);
  d.set_timestamp(1000 + rng() % 100);  // any order: the merge order decides
  d.set_network(FARCASTER_NETWORK_MAINNET);
  Msg m;
  const uint32_t k = rng() % 10;
  if (k < 2) {
    d.set_type(MESSAGE_TYPE_CHANNEL_UPDATE);
    d.mutable_channel_update_body()->set_channel_id(channel);
    d.mutable_channel_update_body()->set_name("n" + std::to_string(rng() % 1000));
    m.slot = "update";
    m.state = "-";
  } else if (k < 6) {
    const uint64_t target = base_fid + rng() % 5;
    const int action = 1 + static_cast<int>(rng() % 6);
    d.set_type(MESSAGE_TYPE_CHANNEL_MEMBER);
    d.mutable_channel_member_body()->set_channel_id(channel);
    d.mutable_channel_member_body()->set_fid(target);
    d.mutable_channel_member_body()->set_action(static_cast<ChannelMemberAction>(action));
    m.slot = "member " + std::to_string(target);
    m.state = State(action);
  } else if (k < 8) {
    std::string cast = rng() % 4 == 0 ? "" : std::string(20, static_cast<char>('a' + rng() % 3));
    d.set_type(MESSAGE_TYPE_CHANNEL_PIN);
    d.mutable_channel_pin_body()->set_channel_id(channel);
    d.mutable_channel_pin_body()->set_cast_hash(cast);
    m.slot = "pin";
    m.state = cast.empty() ? "unpinned" : ToHex(cast);
  } else {
    const std::string cast(20, static_cast<char>('a' + rng() % 3));
    const bool hide = rng() % 2 == 0;
    d.set_type(MESSAGE_TYPE_CHANNEL_MODERATE);
    d.mutable_channel_moderate_body()->set_channel_id(channel);
    d.mutable_channel_moderate_body()->set_cast_hash(cast);
    d.mutable_channel_moderate_body()->set_action(hide ? CHANNEL_MODERATE_ACTION_HIDE : CHANNEL_MODERATE_ACTION_UNHIDE);
    m.slot = "moderation " + ToHex(cast);
    m.state = hide ? "hidden" : "visible";
  }
  m.proto = waypoint::testsupport::HashedMessage(std::move(d), '\x51', '\x5a');
  return m;
}

std::string Payload(const std::vector<Msg>& msgs, const Event& e, uint64_t id) {
  HubEvent h;
  h.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
  h.set_id(id);
  h.set_timestamp(150000000);
  *h.mutable_merge_message_body()->mutable_message() = msgs[e.msg].proto;
  if (e.deleted >= 0) *h.mutable_merge_message_body()->add_deleted_messages() = msgs[e.deleted].proto;
  return h.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t seed = 20261203;
  int rounds = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seed"))
      seed = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: waypoint-channels-property [--seed S] [--rounds R]\n");
      return 2;
    }
  }
  std::mt19937 rng(seed);
  std::printf("\\set ON_ERROR_STOP on\n\\pset tuples_only on\n\\pset format unaligned\n");
  std::printf("SET client_min_messages = warning;\n");
  std::printf("CREATE TEMP TABLE expected (channel bytea, slot text, hash bytea, state text);\n");
  std::string expected;
  uint64_t id1 = 1u << 20, id2 = 1u << 21;
  for (int round = 0; round < rounds; ++round) {
    for (int order = 0; order < 3; ++order) {
      // Each delivery order on a channel of its own (the slots are per channel).
      std::string channel(32, '\0');
      for (int i = 0; i < 4; ++i) channel[i] = static_cast<char>((round * 3 + order) >> (8 * i));
      channel[31] = '\x7c';
      const uint64_t base_fid = 800000 + (rng() % 50) * 10;
      std::vector<Msg> msgs;
      std::map<std::string, int> holder;
      std::vector<Event> events;
      // Shard 2's ids run above or below shard 1's: only one shard's order is the merge order.
      if (rng() % 2)
        id2 = id1 + 5000 + rng() % 100000;
      else
        id2 = id1 > 100000 ? id1 - 90000 : id1 + 3;
      for (int s = 0; s < 18; ++s) {
        int m;
        if (!msgs.empty() && rng() % 4 == 0) {
          m = static_cast<int>(rng() % msgs.size());  // an earlier message again
        } else {
          msgs.push_back(Random(rng, channel, base_fid));
          m = static_cast<int>(msgs.size() - 1);
        }
        auto it = holder.find(msgs[m].slot);
        if (it != holder.end() && it->second == m) continue;  // the holder again: a duplicate
        events.push_back({m, it == holder.end() ? -1 : it->second, id1++, id2++});
        holder[msgs[m].slot] = m;
      }
      id1 += 1000;
      for (const auto& [slot, m] : holder)
        expected += "('\\x" + ToHex(channel) + "', '" + slot + "', '\\x" + ToHex(msgs[m].proto.hash()) + "', '" +
                    msgs[m].state + "'),\n";
      struct Delivery {
        std::string kind;
        std::string payload;
      };
      std::vector<Delivery> deliveries;
      for (const Event& e : events) deliveries.push_back({"event@1", Payload(msgs, e, e.id1)});
      for (const Event& e : events) deliveries.push_back({"event@2", Payload(msgs, e, e.id2)});
      if (order > 0) {
        for (size_t i = 0, n = deliveries.size(); n > 0 && i < n / 3 + 1; ++i)
          deliveries.push_back(deliveries[rng() % n]);
        std::shuffle(deliveries.begin(), deliveries.end(), rng);
      }
      for (size_t i = 0; i < deliveries.size();) {
        const size_t n = 1 + rng() % 7;
        std::string kinds, payloads;
        for (size_t j = i; j < std::min(deliveries.size(), i + n); ++j) {
          kinds += std::string(kinds.empty() ? "" : ",") + "'" + deliveries[j].kind + "'";
          payloads += std::string(payloads.empty() ? "" : ",") + "'\\x" + ToHex(deliveries[j].payload) + "'::bytea";
        }
        i += n;
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
  std::printf(
      "WITH got AS (\n"
      "  SELECT channel_id AS channel, 'update' AS slot, message_hash AS hash, '-' AS state FROM "
      "waypoint.channel_metadata\n"
      "  UNION ALL SELECT channel_id, 'member ' || member_fid, message_hash, state FROM waypoint.channel_members\n"
      "  UNION ALL SELECT channel_id, 'pin', message_hash, coalesce(encode(cast_hash, 'hex'), 'unpinned')\n"
      "    FROM waypoint.channel_pins\n"
      "  UNION ALL SELECT channel_id, 'moderation ' || encode(cast_hash, 'hex'), message_hash,\n"
      "                   CASE WHEN hidden THEN 'hidden' ELSE 'visible' END FROM waypoint.channel_moderations)\n"
      "SELECT 'mismatch channel ' || encode(coalesce(e.channel, g.channel), 'hex') || ' ' || coalesce(e.slot, g.slot)\n"
      "       || ': node ' || coalesce(encode(e.hash, 'hex') || ' ' || e.state, 'nothing') || ', database '\n"
      "       || coalesce(encode(g.hash, 'hex') || ' ' || g.state, 'nothing')\n"
      "  FROM expected e FULL JOIN got g ON e.channel = g.channel AND e.slot = g.slot\n"
      " WHERE e.hash IS DISTINCT FROM g.hash OR e.state IS DISTINCT FROM g.state ORDER BY 1;\n"
      "SELECT 'checked ' || count(*) || ' slots of ' || count(DISTINCT channel) || ' channels' FROM expected;\n");
  return 0;
}
