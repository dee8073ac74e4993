#include "waypoint/core/decode.hpp"

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "hub_event.pb.h"
#include "request_response.pb.h"
#include "waypoint/core/channel_state.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/keccak.hpp"
#include "waypoint/core/text.hpp"
#include "waypoint/core/time.hpp"

namespace waypoint::core {
namespace {

[[noreturn]] void Invalid(const std::string& what) { throw Error(ErrorClass::kInvalid, what); }

std::string Hex(const std::string& b) { return ToHex(std::string_view(b)); }

// Postgres text cannot hold NUL; everything else of a valid UTF-8 string is kept.
std::string StripNul(const std::string& s) {
  if (s.find('\0') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (char ch : s)
    if (ch != '\0') out.push_back(ch);
  return out;
}

// A name from a username proof, usable as a text key.
std::string NameText(const std::string& name, const char* what) {
  if (name.empty()) Invalid(std::string(what) + " has an empty name");
  if (!PostgresText(name)) Invalid(std::string(what) + " name is not UTF-8 text: " + Hex(name));
  return name;
}

// Unix seconds Postgres can hold as timestamptz (up to 9999-12-31): larger values are
// rejected here rather than failing the whole batch's statement later.
constexpr uint64_t kMaxUnixSeconds = 253402300799ULL;
void CheckUnix(uint64_t t, const char* what) {
  if (t > kMaxUnixSeconds) Invalid(std::string(what) + " " + std::to_string(t) + " is out of range");
}

template <typename Seq>
std::string ArrayLiteral(const Seq& values) {
  std::string s = "{";
  bool first = true;
  for (auto v : values) {
    if (!first) s += ',';
    first = false;
    s += std::to_string(v);
  }
  return s + "}";
}

// casts.embeds (jsonb): [{"url":...}, {"cast_id":{"fid":n,"hash":"hex"}}, {} for an embed
// with neither variant]. NUL is dropped from URLs (jsonb rejects \u0000); bytes that are
// not UTF-8 become U+FFFD, so one bad URL cannot fail the whole batch's statement.
std::string EmbedsJson(const CastAddBody& b) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& url : b.embeds_deprecated()) j.push_back({{"url", StripNul(url)}});
  for (const auto& e : b.embeds()) {
    if (e.embed_case() == Embed::kUrl) {
      j.push_back({{"url", StripNul(e.url())}});
    } else if (e.embed_case() == Embed::kCastId) {
      j.push_back({{"cast_id", {{"fid", e.cast_id().fid()}, {"hash", Hex(e.cast_id().hash())}}}});
    } else {
      j.push_back(nlohmann::json::object());  // kept as an empty object, never a crash
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

[[noreturn]] void WrongBody(const MessageData& d, const char* want) {
  Invalid("message type " + std::to_string(d.type()) + " of fid " + std::to_string(d.fid()) + " lacks its " + want);
}

// requestFid of an ABI-encoded SignedKeyRequestMetadata(uint256 requestFid, address
// requestSigner, bytes signature, uint256 deadline): abi.encode of the struct starts with
// the offset of the tuple (32), then the tuple's head. Anything else, or a requestFid that
// does not fit 63 bits, gives nothing: the column stays NULL.
std::optional<uint64_t> RequestFidOf(const std::string& m) {
  auto word_is = [&](size_t at, uint64_t* v) {
    if (m.size() < at + 32) return false;
    for (size_t i = 0; i < 24; ++i)
      if (m[at + i] != 0) return false;
    uint64_t x = 0;
    for (size_t i = 24; i < 32; ++i) x = (x << 8) | static_cast<unsigned char>(m[at + i]);
    *v = x;
    return true;
  };
  uint64_t offset = 0, fid = 0;
  if (!word_is(0, &offset) || offset != 32 || m.size() < 32 + 4 * 32) return std::nullopt;
  if (!word_is(32, &fid) || fid > (uint64_t{1} << 63) - 1) return std::nullopt;
  return fid;
}

void CheckKey(const std::string& key, const MessageData& d) {
  if (key.size() != 32)
    Invalid("key message of fid " + std::to_string(d.fid()) + " has a key of " + std::to_string(key.size()) +
            " bytes, want 32");
}

// ---- channel bodies (docs/channels-and-keys.md 2.0; the node's validate_channel_*_body)

std::string ChannelWhat(const MessageData& d) {
  static const char* kNames[] = {"channel update", "channel member", "channel pin", "channel moderate"};
  return std::string(kNames[d.type() - MESSAGE_TYPE_CHANNEL_UPDATE]) + " of fid " + std::to_string(d.fid());
}

void CheckChannelId(const std::string& id, const MessageData& d) {
  if (id.size() != 32)
    Invalid(ChannelWhat(d) + " has a channel_id of " + std::to_string(id.size()) + " bytes, want 32");
}

std::optional<std::string> OptText(bool has, const std::string& v) {
  return has ? std::optional<std::string>(StripNul(v)) : std::nullopt;
}

// Adds the slot row of a channel message, after checking what depends on the message
// alone; only a merge makes a candidate (merge_event set), a deleted copy is checked only.
void AddChannelRow(const Message& m, const MessageData& d, std::optional<int64_t> merge_event, RowSet& out) {
  ChannelSlot s;
  s.author_fid = d.fid();
  s.message_hash = m.hash();
  s.timestamp = d.timestamp();
  s.merge_event = merge_event.value_or(0);
  switch (d.type()) {
    case MESSAGE_TYPE_CHANNEL_UPDATE: {
      if (d.body_case() != MessageData::kChannelUpdateBody) WrongBody(d, "channel_update_body");
      const auto& b = d.channel_update_body();
      CheckChannelId(b.channel_id(), d);
      // An absent mode and an explicit NONE fold to the restrictive default (fold_channel_modes).
      int32_t casting = b.has_casting_mode() ? static_cast<int32_t>(b.casting_mode()) : 0;
      int32_t membership = b.has_membership_mode() ? static_cast<int32_t>(b.membership_mode()) : 0;
      if (casting < 0 || casting > 3)
        Invalid(ChannelWhat(d) + " has an unknown casting mode " + std::to_string(casting));
      if (membership < 0 || membership > 2)
        Invalid(ChannelWhat(d) + " has an unknown membership mode " + std::to_string(membership));
      if (!merge_event) return;
      ChannelUpdateRow r;
      s.channel_id = b.channel_id();
      r.s = std::move(s);
      r.name = OptText(b.has_name(), b.name());
      r.description = OptText(b.has_description(), b.description());
      r.image_url = OptText(b.has_image_url(), b.image_url());
      r.header = OptText(b.has_header(), b.header());
      r.rules = OptText(b.has_rules(), b.rules());
      r.casting_mode = casting == 0 ? CASTING_MODE_MEMBERS_ONLY : casting;
      r.membership_mode = membership == 0 ? MEMBERSHIP_MODE_APPROVAL : membership;
      out.channel_updates.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_CHANNEL_MEMBER: {
      if (d.body_case() != MessageData::kChannelMemberBody) WrongBody(d, "channel_member_body");
      const auto& b = d.channel_member_body();
      CheckChannelId(b.channel_id(), d);
      if (b.fid() == 0 || b.fid() > 0xffffffffULL)
        Invalid(ChannelWhat(d) + " names target fid " + std::to_string(b.fid()) + ", want 1 .. 2^32-1");
      const int32_t action = static_cast<int32_t>(b.action());
      if (action < CHANNEL_MEMBER_ACTION_ADD_MEMBER || action > CHANNEL_MEMBER_ACTION_UNBAN)
        Invalid(ChannelWhat(d) + " has member action " + std::to_string(action) + " (NONE or unknown)");
      if (!merge_event) return;
      ChannelMemberRow r;
      s.channel_id = b.channel_id();
      r.s = std::move(s);
      r.member_fid = b.fid();
      r.action = action;
      out.channel_members.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_CHANNEL_PIN: {
      if (d.body_case() != MessageData::kChannelPinBody) WrongBody(d, "channel_pin_body");
      const auto& b = d.channel_pin_body();
      CheckChannelId(b.channel_id(), d);
      if (!b.cast_hash().empty() && b.cast_hash().size() != 20)
        Invalid(ChannelWhat(d) + " has a cast_hash of " + std::to_string(b.cast_hash().size()) +
                " bytes, want 20 (or empty: unpin)");
      if (!merge_event) return;
      ChannelPinRow r;
      s.channel_id = b.channel_id();
      r.s = std::move(s);
      r.cast_hash = b.cast_hash();
      out.channel_pins.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_CHANNEL_MODERATE: {
      if (d.body_case() != MessageData::kChannelModerateBody) WrongBody(d, "channel_moderate_body");
      const auto& b = d.channel_moderate_body();
      CheckChannelId(b.channel_id(), d);
      if (b.cast_hash().size() != 20)
        Invalid(ChannelWhat(d) + " has a cast_hash of " + std::to_string(b.cast_hash().size()) + " bytes, want 20");
      const int32_t action = static_cast<int32_t>(b.action());
      if (action != CHANNEL_MODERATE_ACTION_HIDE && action != CHANNEL_MODERATE_ACTION_UNHIDE)
        Invalid(ChannelWhat(d) + " has moderate action " + std::to_string(action) + " (NONE or unknown)");
      if (!merge_event) return;
      ChannelModerationRow r;
      s.channel_id = b.channel_id();
      r.s = std::move(s);
      r.cast_hash = b.cast_hash();
      r.action = action;
      out.channel_moderations.push_back(std::move(r));
      return;
    }
    default: return;
  }
}

Candidate MakeCandidate(const Message& m, const MessageData& d) {
  Candidate c;
  c.message_hash = m.hash();
  c.fid = d.fid();
  c.timestamp = d.timestamp();
  c.removed = IsRemoveType(d.type());
  return c;
}

void AddTypedRow(const Message& m, const MessageData& d, std::optional<int64_t> merge_event, RowSet& out) {
  if (IsChannelType(d.type())) return AddChannelRow(m, d, merge_event, out);
  Candidate c = MakeCandidate(m, d);
  switch (d.type()) {
    case MESSAGE_TYPE_CAST_ADD: {
      if (d.body_case() != MessageData::kCastAddBody) WrongBody(d, "cast_add_body");
      const auto& b = d.cast_add_body();
      CastRow r;
      r.c = c;
      r.cast_hash = m.hash();
      r.text = StripNul(b.text());
      if (b.parent_case() == CastAddBody::kParentCastId) {
        r.parent_fid = b.parent_cast_id().fid();
        r.parent_hash = b.parent_cast_id().hash();
      } else if (b.parent_case() == CastAddBody::kParentUrl) {
        r.parent_url = StripNul(b.parent_url());
      }
      r.embeds_json = EmbedsJson(b);
      r.mentions = ArrayLiteral(b.mentions());
      r.mentions_positions = ArrayLiteral(b.mentions_positions());
      r.cast_type = b.type();
      out.casts.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_CAST_REMOVE: {
      if (d.body_case() != MessageData::kCastRemoveBody) WrongBody(d, "cast_remove_body");
      if (d.cast_remove_body().target_hash().empty()) Invalid("cast remove without target_hash");
      CastRow r;
      r.c = c;
      r.cast_hash = d.cast_remove_body().target_hash();
      out.casts.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_REACTION_ADD:
    case MESSAGE_TYPE_REACTION_REMOVE: {
      if (d.body_case() != MessageData::kReactionBody) WrongBody(d, "reaction_body");
      const auto& b = d.reaction_body();
      ReactionRow r;
      r.c = c;
      r.reaction_type = b.type();
      if (b.target_case() == ReactionBody::kTargetCastId) {
        r.target_cast_fid = b.target_cast_id().fid();
        r.target_cast_hash = b.target_cast_id().hash();
        r.target_key = "c" + std::to_string(b.target_cast_id().fid()) + ":" + b.target_cast_id().hash();
      } else if (b.target_case() == ReactionBody::kTargetUrl) {
        r.target_url = StripNul(b.target_url());
        r.target_key = "u" + b.target_url();
      } else {
        Invalid("reaction without target");
      }
      out.reactions.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_LINK_ADD:
    case MESSAGE_TYPE_LINK_REMOVE: {
      if (d.body_case() != MessageData::kLinkBody) WrongBody(d, "link_body");
      const auto& b = d.link_body();
      if (b.target_case() != LinkBody::kTargetFid) Invalid("link without target_fid");
      LinkRow r;
      r.c = c;
      r.link_type = StripNul(b.type());
      r.target_fid = b.target_fid();
      if (b.has_displaytimestamp()) r.display_timestamp = b.displaytimestamp();
      out.links.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS: {
      if (d.body_case() != MessageData::kVerificationAddAddressBody) WrongBody(d, "verification_add_address_body");
      const auto& b = d.verification_add_address_body();
      if (b.address().empty()) Invalid("verification without address");
      VerificationRow r;
      r.c = c;
      r.address = b.address();
      r.protocol = b.protocol();
      r.claim_signature = b.claim_signature();
      r.block_hash = b.block_hash();
      r.verification_type = static_cast<int32_t>(b.verification_type());
      r.chain_id = b.chain_id();
      out.verifications.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_VERIFICATION_REMOVE: {
      if (d.body_case() != MessageData::kVerificationRemoveBody) WrongBody(d, "verification_remove_body");
      const auto& b = d.verification_remove_body();
      if (b.address().empty()) Invalid("verification remove without address");
      VerificationRow r;
      r.c = c;
      r.address = b.address();
      r.protocol = b.protocol();
      out.verifications.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_USER_DATA_ADD: {
      if (d.body_case() != MessageData::kUserDataBody) WrongBody(d, "user_data_body");
      UserDataRow r;
      r.c = c;
      r.user_data_type = d.user_data_body().type();
      r.value = StripNul(d.user_data_body().value());
      out.user_data.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_USERNAME_PROOF: {
      if (d.body_case() != MessageData::kUsernameProofBody) WrongBody(d, "username_proof_body");
      const auto& p = d.username_proof_body();
      UsernameProofMessageRow r;
      r.c = c;
      r.name = NameText(p.name(), "username proof message");
      r.proof_fid = p.fid();
      r.proof_timestamp = p.timestamp();
      r.owner = p.owner();
      r.signature = p.signature();
      r.proof_type = p.type();
      CheckUnix(p.timestamp(), "username proof timestamp");
      out.username_proof_messages.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_LINK_COMPACT_STATE: {
      if (d.body_case() != MessageData::kLinkCompactStateBody) WrongBody(d, "link_compact_state_body");
      LinkCompactStateRow r;
      r.c = c;
      r.link_type = StripNul(d.link_compact_state_body().type());
      r.target_fids.assign(d.link_compact_state_body().target_fids().begin(),
                           d.link_compact_state_body().target_fids().end());
      out.link_compact_states.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_LEND_STORAGE: {
      if (d.body_case() != MessageData::kLendStorageBody) WrongBody(d, "lend_storage_body");
      LendStorageRow r;
      r.c = c;
      r.to_fid = d.lend_storage_body().to_fid();
      r.num_units = d.lend_storage_body().num_units();
      r.unit_type = d.lend_storage_body().unit_type();
      out.lend_storage.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_KEY_ADD: {
      if (d.body_case() != MessageData::kKeyAddBody) WrongBody(d, "key_add_body");
      const auto& b = d.key_add_body();
      CheckKey(b.key(), d);
      AppKeyRow r;
      r.c = c;
      r.key = b.key();
      r.key_type = b.key_type();
      r.scopes = ArrayLiteral(b.scopes());
      r.ttl = b.ttl();
      r.nonce = b.nonce();
      r.deadline = b.deadline();
      r.request_fid = RequestFidOf(b.metadata());
      out.app_keys.push_back(std::move(r));
      return;
    }
    case MESSAGE_TYPE_KEY_REMOVE:
      // Not stored by the node: it names the KEY_ADD it deleted (AddHubEvent).
      if (d.body_case() != MessageData::kKeyRemoveBody) WrongBody(d, "key_remove_body");
      CheckKey(d.key_remove_body().key(), d);
      return;
    default: return;  // frame actions, unknown types: raw table only
  }
}

template <typename Proto>
void Parse(Proto& p, std::string_view bytes, const char* what) {
  if (!p.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error(ErrorClass::kDecode,
                std::string("payload is not a valid ") + what + " (" + std::to_string(bytes.size()) + " bytes)");
}

}  // namespace

void AddMessage(const Message& msg, MessageRole role, int64_t event_unix, std::string_view raw, RowSet& out,
                int64_t event_id) {
  MessageData parsed;
  const MessageData* d = &msg.data();
  if (!msg.has_data()) {
    // The node may send only data_bytes; the hash is over exactly those bytes.
    if (!msg.has_data_bytes() || msg.data_bytes().empty()) Invalid("message without data");
    Parse(parsed, msg.data_bytes(), "MessageData");
    d = &parsed;
  }
  if (msg.hash().size() != kMessageHashSize)
    Invalid("message hash is " + std::to_string(msg.hash().size()) + " bytes, want 20");
  if (d->fid() == 0) Invalid("message " + Hex(msg.hash()) + " has fid 0");
  if (d->type() == MESSAGE_TYPE_NONE) Invalid("message " + Hex(msg.hash()) + " has type NONE");
  // The node serves no channel message in its pages; the mirror takes them from data shard
  // 1's events only (kChannelShard).
  if (role == MessageRole::kHeld && IsChannelType(d->type())) return;

  // Typed row first: if the body is broken nothing of this message is added.
  AddTypedRow(msg, *d, role == MessageRole::kMerged ? std::optional<int64_t>(event_id) : std::nullopt, out);

  MessageRow m;
  m.hash = msg.hash();
  m.fid = d->fid();
  m.type = d->type();
  m.timestamp = d->timestamp();
  m.network = d->network();
  m.signer = msg.signer();
  m.raw = raw.empty() ? msg.SerializeAsString() : std::string(raw);
  m.pruned = role == MessageRole::kPruned;
  m.revoked = role == MessageRole::kRevoked;
  m.dropped = role == MessageRole::kDropped;
  m.event_unix = (role == MessageRole::kMerged || role == MessageRole::kHeld) ? 0 : event_unix;
  if (role == MessageRole::kMerged)
    m.merge_event = event_id;
  else if (role != MessageRole::kHeld)
    m.death_event = event_id;
  out.messages.push_back(std::move(m));
}

void AddProof(const UserNameProof& p, bool deleted, std::string_view raw, RowSet& out,
              std::optional<int64_t> event_id) {
  ProofRow r;
  r.name = NameText(p.name(), "username proof");
  r.fid = p.fid();
  r.timestamp = p.timestamp();
  r.owner = p.owner();
  r.signature = p.signature();
  r.proof_type = p.type();
  r.deleted = deleted;
  CheckUnix(p.timestamp(), "username proof timestamp");
  r.raw = raw.empty() ? p.SerializeAsString() : std::string(raw);
  (deleted ? r.death_event : r.merge_event) = event_id;
  out.proofs.push_back(std::move(r));
}

void AddOnChainEvent(const OnChainEvent& ev, std::string_view raw, RowSet& out) {
  if (ev.transaction_hash().empty()) Invalid("on-chain event without transaction_hash");
  if (ev.type() == EVENT_TYPE_NONE) Invalid("on-chain event of type NONE");
  CheckUnix(ev.block_timestamp(), "on-chain block_timestamp");
  OnChainRow r;
  r.type = ev.type();
  r.chain_id = ev.chain_id();
  r.block_number = ev.block_number();
  r.block_hash = ev.block_hash();
  r.block_timestamp = ev.block_timestamp();
  r.tx_hash = ev.transaction_hash();
  r.log_index = ev.log_index();
  r.tx_index = ev.tx_index();
  r.fid = ev.fid();
  r.version = ev.version();
  r.raw = raw.empty() ? ev.SerializeAsString() : std::string(raw);
  switch (ev.body_case()) {
    case OnChainEvent::kSignerEventBody: {
      const auto& b = ev.signer_event_body();
      r.signer_key = b.key();
      r.signer_key_type = b.key_type();
      r.signer_event_type = b.event_type();
      if (!b.metadata().empty()) r.signer_metadata = b.metadata();
      r.signer_metadata_type = b.metadata_type();
      break;
    }
    case OnChainEvent::kSignerMigratedEventBody: r.migrated_at = ev.signer_migrated_event_body().migratedat(); break;
    case OnChainEvent::kIdRegisterEventBody: {
      const auto& b = ev.id_register_event_body();
      r.id_to = b.to();
      r.id_event_type = b.event_type();
      if (!b.from().empty()) r.id_from = b.from();
      if (!b.recovery_address().empty()) r.id_recovery = b.recovery_address();
      break;
    }
    case OnChainEvent::kStorageRentEventBody: {
      const auto& b = ev.storage_rent_event_body();
      r.rent_payer = b.payer();
      r.rent_units = b.units();
      r.rent_expiry = b.expiry();
      break;
    }
    case OnChainEvent::kTierPurchaseEventBody: {
      const auto& b = ev.tier_purchase_event_body();
      r.tier_type = b.tier_type();
      r.tier_for_days = static_cast<int64_t>(b.for_days());
      r.tier_payer = b.payer();
      break;
    }
    case OnChainEvent::kChannelRegisterEventBody: {
      const auto& b = ev.channel_register_event_body();
      r.channel_key = StripNul(b.channel_key());
      CheckUnix(b.expiry(), "channel register expiry");
      ChannelRegistryRow c;
      c.tx_hash = r.tx_hash;
      c.log_index = r.log_index;
      c.block_number = r.block_number;
      c.tx_index = r.tx_index;
      c.block_timestamp = r.block_timestamp;
      c.event_type = b.event_type();
      c.label = b.label();
      c.channel_key = *r.channel_key;
      c.expiry = b.expiry();
      c.owner_address = b.owner_address();
      const auto k = Keccak256(b.channel_key());
      c.key_matches_label = b.label() == std::string_view(reinterpret_cast<const char*>(k.data()), k.size());
      out.channel_registry.push_back(std::move(c));
      break;
    }
    default: break;  // a body this build does not know: the generic columns and raw bytes are kept
  }
  out.onchain.push_back(std::move(r));
}

namespace {
// A KEY_REMOVE's merge lists the KEY_ADD it deleted: that row records the remove.
void NameKeyRemove(const Message& merged, RowSet& out, size_t from) {
  MessageData parsed;
  const MessageData* d = &merged.data();
  if (!merged.has_data()) {
    Parse(parsed, merged.data_bytes(), "MessageData");
    d = &parsed;
  }
  if (d->type() != MESSAGE_TYPE_KEY_REMOVE) return;
  for (size_t i = from; i < out.app_keys.size(); ++i) {
    AppKeyRow& r = out.app_keys[i];
    if (r.c.fid != d->fid() || r.key != d->key_remove_body().key()) continue;
    r.remove_hash = merged.hash();
    r.remove_ts = d->timestamp();
  }
}
}  // namespace

namespace {
// Whether an event's message is a channel message (data_bytes parsed when needed).
bool CarriesChannelMessage(const Message& m) {
  if (m.has_data()) return IsChannelType(m.data().type());
  MessageData d;
  return d.ParseFromString(m.data_bytes()) && IsChannelType(d.type());
}
}  // namespace

void AddHubEvent(const HubEvent& ev, RowSet& out, uint64_t entry_event_id, uint32_t shard) {
  const int64_t event_unix = ev.timestamp() != 0 ? FarcasterToUnix(ev.timestamp()) : 0;
  // Snapchain ids are (block << 14 | seq): far below 2^63.
  const int64_t id = static_cast<int64_t>(entry_event_id != 0 ? entry_event_id : ev.id());
  auto need = [&](bool ok, const char* body) {
    if (!ok)
      Invalid("hub event " + std::to_string(ev.id()) + " of type " + std::to_string(ev.type()) + " lacks " + body);
  };
  switch (ev.type()) {
    case HUB_EVENT_TYPE_MERGE_MESSAGE: {
      need(ev.has_merge_message_body() && ev.merge_message_body().has_message(), "merge_message_body.message");
      const auto& b = ev.merge_message_body();
      // A channel message's copy from another data shard: ignored whole (kChannelShard).
      if (shard != kChannelShard && CarriesChannelMessage(b.message())) return;
      AddMessage(b.message(), MessageRole::kMerged, event_unix, {}, out, id);
      const size_t keys_from = out.app_keys.size();
      for (const auto& dm : b.deleted_messages()) AddMessage(dm, MessageRole::kDropped, event_unix, {}, out, id);
      if (out.app_keys.size() > keys_from) NameKeyRemove(b.message(), out, keys_from);
      return;
    }
    case HUB_EVENT_TYPE_PRUNE_MESSAGE:
      need(ev.has_prune_message_body() && ev.prune_message_body().has_message(), "prune_message_body.message");
      if (shard != kChannelShard && CarriesChannelMessage(ev.prune_message_body().message())) return;
      AddMessage(ev.prune_message_body().message(), MessageRole::kPruned, event_unix, {}, out, id);
      return;
    case HUB_EVENT_TYPE_REVOKE_MESSAGE:
      need(ev.has_revoke_message_body() && ev.revoke_message_body().has_message(), "revoke_message_body.message");
      if (shard != kChannelShard && CarriesChannelMessage(ev.revoke_message_body().message())) return;
      AddMessage(ev.revoke_message_body().message(), MessageRole::kRevoked, event_unix, {}, out, id);
      return;
    case HUB_EVENT_TYPE_MERGE_USERNAME_PROOF: {
      need(ev.has_merge_username_proof_body(), "merge_username_proof_body");
      const auto& b = ev.merge_username_proof_body();
      if (b.has_username_proof()) AddProof(b.username_proof(), false, {}, out, id);
      if (b.has_deleted_username_proof()) AddProof(b.deleted_username_proof(), true, {}, out, id);
      if (b.has_username_proof_message())
        AddMessage(b.username_proof_message(), MessageRole::kMerged, event_unix, {}, out, id);
      if (b.has_deleted_username_proof_message())
        AddMessage(b.deleted_username_proof_message(), MessageRole::kDropped, event_unix, {}, out, id);
      return;
    }
    case HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT:
      need(ev.has_merge_on_chain_event_body() && ev.merge_on_chain_event_body().has_on_chain_event(),
           "merge_on_chain_event_body.on_chain_event");
      AddOnChainEvent(ev.merge_on_chain_event_body().on_chain_event(), {}, out);
      return;
    // BLOCK_CONFIRMED, MERGE_FAILURE, unknown types, and CHANNEL_OWNER_CHANGE_HINT (12): a
    // channel's owner follows from its registry events and the verifications, so the hint
    // adds nothing (docs/apply-semantics.md, "Channels").
    default: return;
  }
}

RowSet DecodeHubEventBytes(std::string_view bytes, uint64_t event_id, uint32_t shard) {
  HubEvent ev;
  Parse(ev, bytes, "HubEvent");
  RowSet out;
  AddHubEvent(ev, out, event_id, shard);
  return out;
}

RowSet DecodeMessageBytes(std::string_view bytes) {
  Message m;
  Parse(m, bytes, "Message");
  RowSet out;
  // A backfill page holds what the node stored when it was read: a candidate without an
  // event id, which cannot revive a message a tombstone killed.
  AddMessage(m, MessageRole::kHeld, 0, bytes, out);
  return out;
}

RowSet DecodeOnChainEventBytes(std::string_view bytes) {
  OnChainEvent ev;
  Parse(ev, bytes, "OnChainEvent");
  RowSet out;
  AddOnChainEvent(ev, bytes, out);
  return out;
}

RowSet DecodeUserNameProofBytes(std::string_view bytes) {
  UserNameProof p;
  Parse(p, bytes, "UserNameProof");
  RowSet out;
  AddProof(p, false, bytes, out);
  return out;
}

RowSet DecodeSignerBytes(std::string_view bytes, uint64_t entry_fid) {
  Signer sg;
  Parse(sg, bytes, "Signer");
  RowSet out;
  if (sg.source() != SIGNER_SOURCE_OFFCHAIN) return out;  // on-chain keys come with their events
  const std::string what = "signer of fid " + std::to_string(sg.fid());
  if (sg.fid() == 0 || (entry_fid != 0 && sg.fid() != entry_fid))
    Invalid(what + " in an entry of fid " + std::to_string(entry_fid));
  if (sg.key().size() != 32) Invalid(what + " has a key of " + std::to_string(sg.key().size()) + " bytes, want 32");
  if (!sg.has_added_at()) Invalid(what + " has no added_at");
  if (!sg.has_nonce()) Invalid(what + " has no nonce");
  CheckUnix(sg.added_at(), "signer added_at");
  AppKeyStateRow r;
  r.fid = sg.fid();
  r.key = sg.key();
  r.key_type = sg.key_type();
  r.scopes = ArrayLiteral(sg.scopes());
  r.ttl = sg.ttl();
  r.nonce = sg.nonce();
  r.added_at = sg.added_at();
  if (sg.has_request_fid()) r.request_fid = sg.request_fid();
  if (sg.has_last_used_at()) {
    CheckUnix(sg.last_used_at(), "signer last_used_at");
    r.last_used_at = sg.last_used_at();
  }
  out.app_key_states.push_back(std::move(r));
  return out;
}

// A channel_state entry (core/channel_state.hpp): the node's state reads of one channel,
// checked as the node's own rules bound them (widths, enum values) and made one row.
RowSet DecodeChannelStateEntry(std::string_view bytes, int64_t as_of) {
  const ChannelStatePayload p = DecodeChannelStatePayload(bytes);
  if (p.channel_id.size() != 32)
    Invalid("channel_state names a channel id of " + std::to_string(p.channel_id.size()) + " bytes, want 32");
  if (as_of <= 0) Invalid("channel_state needs the position it counts as of (field id)");
  ChannelStateRow r;
  r.channel_id = p.channel_id;
  r.as_of = as_of;
  ChannelMetadataResponse meta;
  Parse(meta, p.metadata, "ChannelMetadataResponse");
  r.name = OptText(meta.has_name(), meta.name());
  r.description = OptText(meta.has_description(), meta.description());
  r.image_url = OptText(meta.has_image_url(), meta.image_url());
  r.header = OptText(meta.has_header(), meta.header());
  r.rules = OptText(meta.has_rules(), meta.rules());
  const int32_t casting = static_cast<int32_t>(meta.casting_mode());
  const int32_t membership = static_cast<int32_t>(meta.membership_mode());
  if (casting < 0 || casting > 3) Invalid("channel_state has an unknown casting mode " + std::to_string(casting));
  if (membership < 0 || membership > 2)
    Invalid("channel_state has an unknown membership mode " + std::to_string(membership));
  r.casting_mode = casting == 0 ? CASTING_MODE_MEMBERS_ONLY : casting;
  r.membership_mode = membership == 0 ? MEMBERSHIP_MODE_APPROVAL : membership;
  ChannelPinResponse pin;
  Parse(pin, p.pin, "ChannelPinResponse");
  if (pin.has_pin() && !pin.pin().cast_hash().empty()) {
    if (pin.pin().cast_hash().size() != 20)
      Invalid("channel_state pins a cast hash of " + std::to_string(pin.pin().cast_hash().size()) + " bytes");
    r.pin_cast_hash = pin.pin().cast_hash();
    r.pin_author_fid = pin.pin().author_fid();
  }
  std::set<uint64_t> member_fids;
  for (const auto& page : p.member_pages) {
    ChannelMembersResponse resp;
    Parse(resp, page, "ChannelMembersResponse");
    for (const auto& m : resp.members()) {
      if (m.fid() == 0 || m.fid() > 0xffffffffULL)
        Invalid("channel_state lists member fid " + std::to_string(m.fid()) + ", want 1 .. 2^32-1");
      const int32_t st = static_cast<int32_t>(m.state());
      if (st < 1 || st > 4) Invalid("channel_state lists member state " + std::to_string(st));
      if (member_fids.insert(m.fid()).second) r.members.emplace_back(m.fid(), st);
    }
  }
  std::set<std::string> casts;
  for (const auto& page : p.moderation_pages) {
    ChannelModerationsResponse resp;
    Parse(resp, page, "ChannelModerationsResponse");
    for (const auto& m : resp.moderations()) {
      if (m.cast_hash().size() != 20)
        Invalid("channel_state moderates a cast hash of " + std::to_string(m.cast_hash().size()) + " bytes");
      const int32_t action = static_cast<int32_t>(m.action());
      if (action < 1 || action > 2) Invalid("channel_state lists moderation action " + std::to_string(action));
      if (casts.insert(m.cast_hash()).second) r.moderations.push_back({m.cast_hash(), action, m.author_fid()});
    }
  }
  RowSet out;
  out.channel_states.push_back(std::move(r));
  return out;
}

RowSet DecodeStreamEntry(const StreamEntry& e) {
  switch (e.kind) {
    case EntryKind::kHubEvent: return DecodeHubEventBytes(e.payload, e.event_id, e.shard);
    case EntryKind::kMessage: return DecodeMessageBytes(e.payload);
    case EntryKind::kOnChainEvent: return DecodeOnChainEventBytes(e.payload);
    case EntryKind::kUserNameProof: return DecodeUserNameProofBytes(e.payload);
    case EntryKind::kSigner: return DecodeSignerBytes(e.payload, e.fid);
    case EntryKind::kFidDone:
    case EntryKind::kFidStart: return {};
    case EntryKind::kChannelState: return DecodeChannelStateEntry(e.payload, static_cast<int64_t>(e.event_id));
    case EntryKind::kRefused: throw Error(ErrorClass::kInvalid, "refused by verification: " + e.refused_check);
  }
  throw Error(ErrorClass::kInvalid, "unknown entry kind");
}

FidStart ParseFidStart(std::string_view payload) {
  const nlohmann::json j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(ErrorClass::kInvalid, "fid_start payload is not a JSON object");
  FidStart out;
  const auto t = j.find("types");
  if (t != j.end()) {
    if (!t->is_array()) throw Error(ErrorClass::kInvalid, "fid_start \"types\" must be an array of store names");
    for (const auto& v : *t) {
      if (!v.is_string()) throw Error(ErrorClass::kInvalid, "fid_start \"types\" must be an array of store names");
      out.types.push_back(v.get<std::string>());
    }
  }
  const auto n = j.find("fids_total");
  if (n != j.end()) {
    if (!n->is_number_unsigned())
      throw Error(ErrorClass::kInvalid, "fid_start \"fids_total\" must be a non-negative integer");
    out.fids_total = n->get<uint64_t>();
  }
  return out;
}

FidDone ParseFidDone(std::string_view payload) {
  const nlohmann::json j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) Invalid("fid_done payload is not a JSON object");
  FidDone out;
  const auto st = j.find("status");
  if (st == j.end() || !st->is_string()) Invalid("fid_done payload has no string \"status\"");
  out.status = st->get<std::string>();
  if (out.status != "ok" && out.status != "failed") Invalid("fid_done status must be \"ok\" or \"failed\"");
  const auto m = j.find("messages");
  if (m != j.end()) {
    if (!m->is_number_integer() || m->get<int64_t>() < 0)
      Invalid("fid_done \"messages\" must be a non-negative integer");
    out.messages = m->get<int64_t>();
  }
  const auto e = j.find("error");
  if (e != j.end() && e->is_string()) out.error = e->get<std::string>();
  return out;
}

bool FidDoneOk(std::string_view payload) { return ParseFidDone(payload).status == "ok"; }

int64_t ParseJobId(std::string_view job) {
  const auto bad = [&] { Invalid("backfill job id '" + SanitizeText(job) + "' is not valid"); };
  if (job.empty() || job.size() > 18) bad();
  int64_t v = 0;
  for (char c : job) {
    if (c < '0' || c > '9') bad();
    v = v * 10 + (c - '0');
  }
  if (v <= 0) Invalid("backfill job id must be positive");
  return v;
}

}  // namespace waypoint::core
