#include "waypoint/core/rows.hpp"

#include <iterator>

namespace waypoint::core {
namespace {

// Keys are only compared for equality inside one batch; fixed-width integers and
// length-prefixed strings keep distinct keys distinct.
void PutU64(std::string& k, uint64_t v) {
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
void PutStr(std::string& k, const std::string& s) {
  PutU64(k, s.size());
  k += s;
}

template <typename T>
void Move(std::vector<T>& to, std::vector<T>& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

const char* StoreName(Store s) {
  switch (s) {
    case Store::kCast: return "cast";
    case Store::kReaction: return "reaction";
    case Store::kLink: return "link";
    case Store::kLinkCompactState: return "link_compact_state";
    case Store::kVerification: return "verification";
    case Store::kUserData: return "user_data";
    case Store::kUsernameProof: return "username_proof";
    case Store::kLendStorage: return "lend_storage";
    case Store::kAppKey: return "app_key";
    case Store::kChannel: return "channel";
    case Store::kNone: break;
  }
  return "";
}

Store StoreOfMessageType(int t) {
  switch (t) {
    case 1:
    case 2: return Store::kCast;
    case 3:
    case 4: return Store::kReaction;
    case 5:
    case 6: return Store::kLink;
    case 7:
    case 8: return Store::kVerification;
    case 11: return Store::kUserData;
    case 12: return Store::kUsernameProof;
    case 14: return Store::kLinkCompactState;
    case 15: return Store::kLendStorage;
    case 16: return Store::kAppKey;
    case 18:
    case 19:
    case 20:
    case 21: return Store::kChannel;
    default: return Store::kNone;
  }
}

bool IsRemoveType(int t) { return t == 2 || t == 4 || t == 6 || t == 8; }

bool IsChannelType(int t) { return t >= 18 && t <= 21; }

std::string ChannelMemberRow::Key() const {
  std::string k = s.channel_id;
  PutU64(k, member_fid);
  return k;
}

std::string ChannelRegistryRow::Key() const {
  std::string k;
  PutStr(k, tx_hash);
  PutU64(k, log_index);
  return k;
}

std::string CastRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  k += cast_hash;
  return k;
}

std::string ReactionRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  PutU64(k, static_cast<uint64_t>(reaction_type));
  k += target_key;
  return k;
}

std::string LinkRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  PutU64(k, target_fid);
  k += link_type;
  return k;
}

std::string LinkCompactStateRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  k += link_type;
  return k;
}

std::string LinkCompactStateRow::TargetFidsLiteral() const {
  std::string s = "{";
  for (size_t i = 0; i < target_fids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(target_fids[i]);
  }
  return s + "}";
}

std::string VerificationRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  k += address;
  return k;
}

std::string UserDataRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  PutU64(k, static_cast<uint64_t>(user_data_type));
  return k;
}

std::string UsernameProofMessageRow::Key() const { return name; }

std::string LendStorageRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  PutU64(k, to_fid);
  return k;
}

std::string AppKeyRow::Key() const {
  std::string k;
  PutU64(k, c.fid);
  k += key;
  return k;
}

std::string OnChainRow::Key() const {
  std::string k;
  PutStr(k, tx_hash);
  PutU64(k, log_index);
  return k;
}

void RowSet::Append(RowSet&& o) {
  Move(messages, o.messages);
  Move(casts, o.casts);
  Move(reactions, o.reactions);
  Move(links, o.links);
  Move(link_compact_states, o.link_compact_states);
  Move(verifications, o.verifications);
  Move(user_data, o.user_data);
  Move(username_proof_messages, o.username_proof_messages);
  Move(lend_storage, o.lend_storage);
  Move(app_keys, o.app_keys);
  Move(app_key_states, o.app_key_states);
  Move(channel_updates, o.channel_updates);
  Move(channel_members, o.channel_members);
  Move(channel_pins, o.channel_pins);
  Move(channel_moderations, o.channel_moderations);
  Move(channel_registry, o.channel_registry);
  Move(channel_states, o.channel_states);
  Move(proofs, o.proofs);
  Move(onchain, o.onchain);
}

bool RowSet::Empty() const {
  return messages.empty() && casts.empty() && reactions.empty() && links.empty() && link_compact_states.empty() &&
         verifications.empty() && user_data.empty() && username_proof_messages.empty() && lend_storage.empty() &&
         app_keys.empty() && app_key_states.empty() && channel_updates.empty() && channel_members.empty() &&
         channel_pins.empty() && channel_moderations.empty() && channel_registry.empty() && channel_states.empty() &&
         proofs.empty() && onchain.empty();
}

}  // namespace waypoint::core
