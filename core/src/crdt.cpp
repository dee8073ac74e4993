#include "waypoint/core/crdt.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <string_view>

namespace waypoint::core {
namespace {
void MaxOpt(std::optional<int64_t>& into, const std::optional<int64_t>& v) {
  if (v && (!into || *v > *into)) into = v;
}
}  // namespace

// The reducers move rows out of their argument; `out` is reserved up front so the
// string_view keys into its elements stay valid.
std::vector<MessageRow> ReduceMessages(std::vector<MessageRow> rows) {
  std::vector<MessageRow> out;
  out.reserve(rows.size());
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(rows.size());
  for (MessageRow& r : rows) {
    auto found = index.find(r.hash);
    if (found == index.end()) {
      out.push_back(std::move(r));
      index.emplace(out.back().hash, out.size() - 1);
      continue;
    }
    MessageRow& m = out[found->second];
    m.pruned |= r.pruned;
    m.revoked |= r.revoked;
    m.dropped |= r.dropped;
    if (r.event_unix != 0 && (m.event_unix == 0 || r.event_unix < m.event_unix)) m.event_unix = r.event_unix;
    if (m.raw.empty()) m.raw = std::move(r.raw);
    MaxOpt(m.merge_event, r.merge_event);
    MaxOpt(m.death_event, r.death_event);
  }
  return out;
}

std::vector<ProofRow> ReduceProofs(std::vector<ProofRow> rows) {
  std::vector<ProofRow> out;
  out.reserve(rows.size());
  std::unordered_map<std::string, size_t> index;
  for (ProofRow& r : rows) {
    // One row per proof (name, timestamp, signature); the statement picks per name.
    std::string key = r.name;
    key.push_back('\0');
    key += std::to_string(r.timestamp);
    key.push_back('\0');
    key += r.signature;
    auto [it, inserted] = index.emplace(std::move(key), out.size());
    if (inserted) {
      out.push_back(std::move(r));
      continue;
    }
    ProofRow& cur = out[it->second];
    cur.deleted |= r.deleted;
    MaxOpt(cur.merge_event, r.merge_event);
    MaxOpt(cur.death_event, r.death_event);
  }
  return out;
}

std::vector<AppKeyRow> ReduceAppKeys(std::vector<AppKeyRow> rows) {
  std::vector<AppKeyRow> out;
  out.reserve(rows.size());
  std::unordered_map<std::string, size_t> index;
  for (AppKeyRow& r : rows) {
    auto [it, inserted] = index.emplace(r.Key() + r.c.message_hash, out.size());
    if (inserted) {
      out.push_back(std::move(r));
      continue;
    }
    // The same KEY_ADD merged and deleted in one batch: keep the remove that deleted it.
    AppKeyRow& cur = out[it->second];
    if (!cur.remove_hash && r.remove_hash) {
      cur.remove_hash = std::move(r.remove_hash);
      cur.remove_ts = r.remove_ts;
    }
  }
  return out;
}

// One state per (fid, key): the one of the latest KEY_ADD (highest nonce); at the same
// nonce the first (two reads of one node agree on it).
std::vector<AppKeyStateRow> ReduceAppKeyStates(std::vector<AppKeyStateRow> rows) {
  std::vector<AppKeyStateRow> out;
  out.reserve(rows.size());
  std::unordered_map<std::string, size_t> index;
  for (AppKeyStateRow& r : rows) {
    auto [it, inserted] = index.emplace(r.Key(), out.size());
    if (inserted)
      out.push_back(std::move(r));
    else if (r.nonce > out[it->second].nonce)
      out[it->second] = std::move(r);
  }
  return out;
}

std::vector<OnChainRow> ReduceOnChain(std::vector<OnChainRow> rows) {
  std::vector<OnChainRow> out;
  out.reserve(rows.size());
  std::unordered_set<std::string> seen;
  seen.reserve(rows.size());
  for (OnChainRow& r : rows) {
    if (seen.insert(r.Key()).second) out.push_back(std::move(r));
  }
  return out;
}

std::vector<ChannelRegistryRow> ReduceChannelRegistry(std::vector<ChannelRegistryRow> rows) {
  std::vector<ChannelRegistryRow> out;
  out.reserve(rows.size());
  std::unordered_set<std::string> seen;
  for (ChannelRegistryRow& r : rows) {
    if (seen.insert(r.Key()).second) out.push_back(std::move(r));
  }
  return out;
}

void ReduceRowSet(RowSet& r) {
  r.messages = ReduceMessages(std::move(r.messages));
  r.casts = DedupeCandidates(std::move(r.casts));
  r.reactions = DedupeCandidates(std::move(r.reactions));
  r.links = DedupeCandidates(std::move(r.links));
  r.link_compact_states = DedupeCandidates(std::move(r.link_compact_states));
  r.verifications = DedupeCandidates(std::move(r.verifications));
  r.user_data = DedupeCandidates(std::move(r.user_data));
  r.username_proof_messages = DedupeCandidates(std::move(r.username_proof_messages));
  r.lend_storage = DedupeCandidates(std::move(r.lend_storage));
  r.app_keys = ReduceAppKeys(std::move(r.app_keys));
  r.app_key_states = ReduceAppKeyStates(std::move(r.app_key_states));
  r.channel_updates = ReduceChannelSlots(std::move(r.channel_updates));
  r.channel_members = ReduceChannelSlots(std::move(r.channel_members));
  r.channel_pins = ReduceChannelSlots(std::move(r.channel_pins));
  r.channel_moderations = ReduceChannelSlots(std::move(r.channel_moderations));
  r.channel_registry = ReduceChannelRegistry(std::move(r.channel_registry));
  r.proofs = ReduceProofs(std::move(r.proofs));
  r.onchain = ReduceOnChain(std::move(r.onchain));
}

}  // namespace waypoint::core
