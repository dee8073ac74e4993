#include "waypoint/testnode/generator.hpp"

#include <algorithm>

namespace waypoint::testnode {

namespace {
constexpr int64_t kEpoch = 1609459200;
constexpr uint32_t kLinkPool = 5;
const UserDataType kUserDataTypes[] = {USER_DATA_TYPE_PFP,    USER_DATA_TYPE_DISPLAY,  USER_DATA_TYPE_BIO,
                                       USER_DATA_TYPE_URL,    USER_DATA_TYPE_LOCATION, USER_DATA_TYPE_TWITTER,
                                       USER_DATA_TYPE_GITHUB, USER_DATA_TYPE_BANNER};
}  // namespace

Generator::Generator(Node& node, GeneratorOptions opt)
    : node_(node),
      opt_(opt),
      rng_(opt.seed * 0x9e3779b97f4a7c15ull + 17),
      forge_rng_(opt.seed * 31 + 0xf0f0),
      chan_rng_(opt.seed * 0x2545f4914f6cdd1dull + 0xc4a7) {
  gen_.resize(opt_.fids);
}

std::string Generator::Bytes(size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng_() & 0xff);
  return s;
}

uint64_t Generator::RandomFid() { return 1 + Rand(opt_.fids); }

uint64_t Generator::CountEvents() const {
  uint64_t n = 0;
  for (uint32_t s = 1; s <= node_.num_shards(); ++s) n += node_.Log(s)->events.size() - node_.Log(s)->blocks.size();
  return n;
}

void Generator::Register(uint64_t fid) {
  GenFid& g = gen_[fid - 1];
  g.key = node_.RegisterFid(fid, Chance(25) ? 2 : 1);
  g.registered = true;
  registered_.push_back(fid);
  if (Chance(60)) {
    const std::string name = "name" + std::to_string(fid);
    if (node_.SubmitFnameProof(name, fid, kGenesisTs + planned_ + kEpoch)) fnames_.push_back(name);
  }
}

uint32_t Generator::Timestamp(GenFid& g) {
  const uint32_t block_ts = static_cast<uint32_t>(kGenesisTs + planned_);
  const uint64_t x = Rand(100);
  uint32_t ts;
  if (x < 8 && g.last_ts != 0) {
    ts = g.last_ts;  // a tie on timestamp: the hash (or remove-wins) decides
  } else if (x < 18) {
    ts = block_ts - 10 - static_cast<uint32_t>(Rand(300));  // out of order
  } else {
    ts = block_ts - static_cast<uint32_t>(Rand(3));
  }
  g.last_ts = ts;
  return ts;
}

void Generator::Submit(uint64_t fid, MessageData d) {
  GenFid& g = gen_[fid - 1];
  d.set_fid(fid);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  if (d.timestamp() == 0) d.set_timestamp(Timestamp(g));
  uint32_t key = g.key;
  if (opt_.app_keys) {
    // Some messages are signed by a held app key whose scopes hold their type.
    const FidState* f = node_.Fid(fid);
    for (const auto& [k, mask] : f->app_scopes)
      if ((mask >> d.type() & 1u) && Chance(50)) key = k;
  }
  const uint32_t idx = node_.SubmitMessage(d, key, Chance(10));
  if (idx != kNone && d.type() == MESSAGE_TYPE_CAST_ADD) {
    const Hash20& h = node_.Msg(idx).hash;
    g.casts.push_back(h);
    if (g.casts.size() > 8) g.casts.erase(g.casts.begin());
    if (recent_casts_.size() < 256) {
      recent_casts_.emplace_back(fid, h);
    } else {
      recent_casts_[Rand(256)] = {fid, h};
    }
  }
  if (opt_.forge_rate > 0 && !opt_.forge_kinds.empty() && g.registered &&
      std::uniform_real_distribution<double>(0, 1)(forge_rng_) < opt_.forge_rate) {
    MessageData f;
    f.set_type(MESSAGE_TYPE_CAST_ADD);
    f.set_fid(fid);
    f.set_network(FARCASTER_NETWORK_MAINNET);
    f.set_timestamp(d.timestamp());
    const Forgery kind = opt_.forge_kinds[forged_ % opt_.forge_kinds.size()];
    f.mutable_cast_add_body()->set_text("forged (" + std::string(ForgeryName(kind)) + ") " + std::to_string(forged_));
    ++forged_;
    node_.SubmitForged(std::move(f), kind);
  }
  g.last = std::move(d);
  g.has_last = true;
}

void Generator::Op(uint64_t fid) {
  GenFid& g = gen_[fid - 1];
  const uint64_t r = Rand(1000);
  const uint64_t unix_now = kGenesisTs + planned_ + kEpoch;
  if (r < 5) {
    if (node_.Fid(fid)->onchain_keys < 4) {
      const uint32_t old = g.key;
      g.key = node_.AddSigner(fid);
      node_.RemoveSigner(fid, old);  // revokes everything `old` signed
      return;
    }
  } else if (r < 10) {
    node_.RentStorage(fid, 1);
    return;
  } else if (r < 15) {
    if (!fnames_.empty()) {
      node_.SubmitFnameProof(fnames_[Rand(fnames_.size())], fid, unix_now);  // transfer to fid
      return;
    }
  } else if (r < 17) {
    if (!fnames_.empty()) {
      node_.SubmitFnameProof(fnames_[Rand(fnames_.size())], 0, unix_now);  // release
      return;
    }
  } else if (r < 27) {
    if (g.has_last) {
      node_.SubmitMessage(g.last, g.key, false);  // resubmitted: a duplicate or conflict
      return;
    }
  } else if (r < 57 && opt_.app_keys) {
    KeyOp(fid);
    return;
  }

  MessageData d;
  const uint64_t w = Rand(96);
  if (w < 28) {
    d.set_type(MESSAGE_TYPE_CAST_ADD);
    auto* b = d.mutable_cast_add_body();
    b->set_text("cast " + std::to_string(fid) + "-" + std::to_string(g.counter++) + " from the waypoint test node");
    const uint64_t p = Rand(100);
    if (p < 30 && !recent_casts_.empty()) {
      const auto& [pf, ph] = recent_casts_[Rand(recent_casts_.size())];
      b->mutable_parent_cast_id()->set_fid(pf);
      b->mutable_parent_cast_id()->set_hash(std::string(reinterpret_cast<const char*>(ph.data()), ph.size()));
    } else if (p < 32) {
      // a reply to a cast this node never held (its thread stays open at that cast)
      b->mutable_parent_cast_id()->set_fid(RandomFid());
      std::string h(20, '\0');
      for (char& ch : h) ch = static_cast<char>(Rand(256));
      b->mutable_parent_cast_id()->set_hash(h);
    } else if (p < 45) {
      b->set_parent_url("https://example.com/channel/" + std::to_string(Rand(5)));
    }
    if (Chance(20)) {
      const uint64_t n = 1 + Rand(2);
      for (uint64_t i = 0; i < n; ++i) {
        b->add_mentions(RandomFid());
        b->add_mentions_positions(static_cast<uint32_t>(i * 3));
      }
    }
    if (Chance(20)) {
      if (Chance(50) || recent_casts_.empty()) {
        b->add_embeds()->set_url("https://example.com/img/" + std::to_string(Rand(1000)) + ".png");
      } else {
        const auto& [ef, eh] = recent_casts_[Rand(recent_casts_.size())];
        auto* c = b->add_embeds()->mutable_cast_id();
        c->set_fid(ef);
        c->set_hash(std::string(reinterpret_cast<const char*>(eh.data()), eh.size()));
      }
    }
  } else if (w < 34) {
    d.set_type(MESSAGE_TYPE_CAST_REMOVE);
    const std::string target =
        g.casts.empty() ? Bytes(20)
                        : std::string(reinterpret_cast<const char*>(g.casts[Rand(g.casts.size())].data()), 20);
    d.mutable_cast_remove_body()->set_target_hash(target);
  } else if (w < 54) {
    const bool remove = w >= 48;
    d.set_type(remove ? MESSAGE_TYPE_REACTION_REMOVE : MESSAGE_TYPE_REACTION_ADD);
    ReactionBody body;
    if ((remove || Chance(40)) && !g.reacted.empty()) {
      body.ParseFromString(g.reacted[Rand(g.reacted.size())]);  // same target again: add -> remove -> add
    } else {
      body.set_type(Chance(70) ? REACTION_TYPE_LIKE : REACTION_TYPE_RECAST);
      if (Chance(60) && !recent_casts_.empty()) {
        const auto& [tf, th] = recent_casts_[Rand(recent_casts_.size())];
        body.mutable_target_cast_id()->set_fid(tf);
        body.mutable_target_cast_id()->set_hash(std::string(reinterpret_cast<const char*>(th.data()), 20));
      } else {
        body.set_target_url("https://example.com/item/" + std::to_string(Rand(4)));
      }
      g.reacted.push_back(body.SerializeAsString());
      if (g.reacted.size() > 6) g.reacted.erase(g.reacted.begin());
    }
    *d.mutable_reaction_body() = body;
  } else if (w < 71) {
    const uint64_t target = 1 + (fid * 31 + Rand(kLinkPool) * 17) % opt_.fids;
    if (w < 69) {
      d.set_type(w < 64 ? MESSAGE_TYPE_LINK_ADD : MESSAGE_TYPE_LINK_REMOVE);
      d.mutable_link_body()->set_type("follow");
      d.mutable_link_body()->set_target_fid(target);
      if (Chance(10)) d.mutable_link_body()->set_displaytimestamp(static_cast<uint32_t>(kGenesisTs + planned_ - 100));
    } else {
      d.set_type(MESSAGE_TYPE_LINK_COMPACT_STATE);
      auto* cs = d.mutable_link_compact_state_body();
      cs->set_type("follow");
      for (uint32_t k = 0; k < kLinkPool; ++k) {
        if (Chance(60)) cs->add_target_fids(1 + (fid * 31 + k * 17) % opt_.fids);
      }
      d.set_timestamp(static_cast<uint32_t>(kGenesisTs + planned_));
    }
  } else if (w < 80) {
    const uint32_t k = static_cast<uint32_t>(Rand(3));
    const bool solana = k == 1;
    std::string address = std::string(solana ? "sol" : "eth") + std::to_string(fid) + "/" + std::to_string(k);
    address.resize(solana ? 32 : 20, '\x5a');
    if (w < 77) {
      d.set_type(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS);
      auto* v = d.mutable_verification_add_address_body();
      v->set_address(address);
      v->set_claim_signature(Bytes(solana ? 64 : 65));
      v->set_block_hash(Bytes(32));
      v->set_protocol(solana ? PROTOCOL_SOLANA : PROTOCOL_ETHEREUM);
    } else {
      d.set_type(MESSAGE_TYPE_VERIFICATION_REMOVE);
      d.mutable_verification_remove_body()->set_address(address);
      d.mutable_verification_remove_body()->set_protocol(solana ? PROTOCOL_SOLANA : PROTOCOL_ETHEREUM);
    }
  } else if (w < 90) {
    d.set_type(MESSAGE_TYPE_USER_DATA_ADD);
    const UserDataType t = kUserDataTypes[Rand(std::size(kUserDataTypes))];
    d.mutable_user_data_body()->set_type(t);
    d.mutable_user_data_body()->set_value("value " + std::to_string(t) + " of " + std::to_string(fid) + " #" +
                                          std::to_string(g.counter++));
  } else if (w < 93) {
    d.set_type(MESSAGE_TYPE_LEND_STORAGE);
    auto* l = d.mutable_lend_storage_body();
    l->set_to_fid(1 + (fid * 7 + Rand(2)) % opt_.fids);
    l->set_num_units(Rand(3));
    l->set_unit_type(UNIT_TYPE_2024);
  } else {
    d.set_type(MESSAGE_TYPE_USERNAME_PROOF);
    const uint32_t ts = Timestamp(g);
    d.set_timestamp(ts);
    auto* p = d.mutable_username_proof_body();
    p->set_timestamp(static_cast<uint64_t>(ts) + kEpoch);
    p->set_name("f" + std::to_string(fid) + "-" + std::to_string(Rand(2)) + ".eth");
    p->set_owner(Bytes(20));
    p->set_signature(Bytes(65));
    p->set_fid(fid);
    p->set_type(USERNAME_TYPE_ENS_L1);
  }
  Submit(fid, std::move(d));
}

// App keys: two key slots per fid. Adds, upserts that widen the scopes (a narrower
// upsert would make the mirror's level full judge an older message by the newer scopes,
// docs/verification.md), removes and re-adds, at the block's time; now and then a refused
// one (a stale nonce, a remove of a key not held).
void Generator::KeyOp(uint64_t fid) {
  const FidState* f = node_.Fid(fid);
  const uint32_t ts = static_cast<uint32_t>(kGenesisTs + planned_);
  const uint32_t slot = static_cast<uint32_t>(Rand(2));
  const uint32_t key = node_.AppKeyIndex(fid, slot);
  f = node_.Fid(fid);
  const uint32_t nonce = f->user_nonce + 1;
  const auto held = f->app_scopes.find(key);
  const uint64_t x = Rand(100);
  if (x < 8) {
    node_.KeyAdd(fid, slot, {1}, f->user_nonce, ts);  // stale nonce: refused
    return;
  }
  if (held == f->app_scopes.end()) {
    if (x < 15) {
      node_.KeyRemove(fid, slot, nonce, ts);  // not held: refused
      return;
    }
    std::vector<int> scopes = {MESSAGE_TYPE_CAST_ADD, MESSAGE_TYPE_REACTION_ADD};
    if (Chance(50)) scopes.push_back(MESSAGE_TYPE_LINK_ADD);
    node_.KeyAdd(fid, slot, scopes, nonce, ts);
    return;
  }
  // The first operation of a fid on a key it holds is a remove, so that every history,
  // whatever the seed, has removed keys; later ones upsert or remove.
  GenFid& g = gen_[fid - 1];
  if (g.removed_a_key && x < 55) {
    std::vector<int> scopes;
    for (int t = 1; t < 32; ++t)
      if (held->second >> t & 1u) scopes.push_back(t);
    const int extra[] = {MESSAGE_TYPE_CAST_REMOVE, MESSAGE_TYPE_REACTION_REMOVE, MESSAGE_TYPE_LINK_ADD,
                         MESSAGE_TYPE_USER_DATA_ADD};
    const int e = extra[Rand(std::size(extra))];
    if (!(held->second >> e & 1u)) scopes.push_back(e);
    node_.KeyAdd(fid, slot, scopes, nonce, ts);  // an upsert
  } else {
    g.removed_a_key = true;
    node_.KeyRemove(fid, slot, nonce, ts);
  }
}

// ---- channels ------------------------------------------------------------------------

namespace {
// A fid's k-th Ethereum address, as the verification ops above spell it.
std::string EthAddress(uint64_t fid, uint32_t k) {
  std::string a = "eth" + std::to_string(fid) + "/" + std::to_string(k);
  a.resize(20, '\x5a');
  return a;
}
constexpr uint32_t kChannels = 3;
}  // namespace

uint64_t Generator::ChanFid() { return registered_[ChanRand(registered_.size())]; }

void Generator::VerifyAddress(uint64_t fid, const std::string& address) {
  MessageData d;
  d.set_type(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS);
  d.set_fid(fid);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  d.set_timestamp(static_cast<uint32_t>(kGenesisTs + planned_ - ChanRand(30)));
  auto* v = d.mutable_verification_add_address_body();
  v->set_address(address);
  std::string sig(65, '\0'), blk(32, '\0');
  for (auto& c : sig) c = static_cast<char>(chan_rng_() & 0xff);
  for (auto& c : blk) c = static_cast<char>(chan_rng_() & 0xff);
  v->set_claim_signature(sig);
  v->set_block_hash(blk);
  v->set_protocol(PROTOCOL_ETHEREUM);
  node_.SubmitMessage(d, gen_[fid - 1].key, false);
}

// Three channels once enough fids are registered: one minted (its TRANSFER before its
// REGISTER), one registered plainly, one owned by an address nobody verifies yet (parked);
// a TRANSFER of a label never registered and a REGISTER whose label is not its key's hash
// (both skipped by the node). Each owner but the third verifies its address.
void Generator::RegisterChannels() {
  const uint64_t expiry = kGenesisTs + planned_ + kEpoch + 365 * 86400;
  for (uint32_t i = 0; i < kChannels; ++i) {
    const std::string key = "chan" + std::to_string(opt_.seed) + "-" + std::to_string(i);
    const uint64_t owner = ChanFid();
    const std::string address = EthAddress(owner, i == 2 ? 2 : 0);
    if (i == 0) {
      node_.ChannelMint(key, address, expiry);
    } else {
      node_.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, Node::ChannelIdOf(key), key, address, expiry);
    }
    if (i != 2) VerifyAddress(owner, address);
    channel_ids_.push_back(Node::ChannelIdOf(key));
  }
  node_.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, Node::ChannelIdOf("never registered"), "",
                             EthAddress(ChanFid(), 0), 0);
  node_.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_REGISTER, Node::ChannelIdOf("label of another key"),
                             "mismatched", EthAddress(ChanFid(), 0), expiry);
}

void Generator::ChannelSubmit(MessageData d, uint64_t author) {
  d.set_fid(author);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  d.set_timestamp(static_cast<uint32_t>(kGenesisTs + planned_ - ChanRand(40)));
  const uint32_t idx = node_.SubmitChannelMessage(d, gen_[author - 1].key);
  if (idx != kNone) channel_msgs_.push_back(idx);
}

// About one channel operation per 12 other submissions, at most 12 a block.
void Generator::ChannelOps(uint64_t ops) {
  if (!opt_.channels || ops == 0 || registered_.size() < 8) return;
  if (channel_ids_.empty()) RegisterChannels();
  const uint64_t n = std::min<uint64_t>(12, ops / 12 + 1);
  for (uint64_t i = 0; i < n; ++i) ChannelOp();
}

void Generator::ChannelOp() {
  const std::string& id = channel_ids_[ChanRand(channel_ids_.size())];
  const ChannelState* c = node_.Channel(id);
  if (c == nullptr) return;
  const std::optional<uint64_t> owner = node_.ChannelOwnerFid(*c);
  std::vector<uint64_t> mods, members, banned;
  for (const auto& [fid, slot] : c->members) {
    if (slot.second == MemberState::kModerator) mods.push_back(fid);
    if (slot.second == MemberState::kMember) members.push_back(fid);
    if (slot.second == MemberState::kBanned) banned.push_back(fid);
  }
  auto pick = [this](const std::vector<uint64_t>& v) { return v.empty() ? ChanFid() : v[ChanRand(v.size())]; };
  // Mostly someone with the power to act, sometimes anyone (then the node refuses).
  auto author = [&]() -> uint64_t {
    const uint64_t x = ChanRand(100);
    if (x < 40 && owner) return *owner;
    if (x < 65 && !mods.empty()) return pick(mods);
    if (x < 78 && !members.empty()) return pick(members);
    return ChanFid();
  };
  const uint64_t expiry = kGenesisTs + planned_ + kEpoch + 400 * 86400 + ChanRand(1000);
  const uint64_t x = ChanRand(100);
  MessageData d;
  if (x < 2) {
    node_.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_RENEW, id, c->key, "", expiry);
  } else if (x < 4) {
    // To another fid's address (verified by it or not yet), now and then to nobody's.
    const uint64_t to = ChanFid();
    node_.ChannelRegistryEvent(CHANNEL_REGISTER_EVENT_TYPE_TRANSFER, id, "",
                               ChanChance(15) ? EthAddress(to, 2) : EthAddress(to, 0), 0);
  } else if (x < 12) {
    // The address's fid verifies it (as an owner must, again, after a transfer), or a
    // contender does: the greatest (timestamp, hash) decides the owner.
    uint64_t fid = ChanFid();
    const std::string& a = c->owner_address;
    if (ChanChance(70) && a.compare(0, 3, "eth") == 0) {
      const uint64_t f = std::strtoull(a.c_str() + 3, nullptr, 10);
      if (f >= 1 && f <= opt_.fids && gen_[f - 1].registered) fid = f;
    }
    VerifyAddress(fid, a);
  } else if (x < 22) {
    auto* b = d.mutable_channel_update_body();
    b->set_channel_id(id);
    if (ChanChance(90)) b->set_name("Channel " + c->key + " #" + std::to_string(ChanRand(100)));
    if (ChanChance(60)) b->set_description("About " + c->key);
    if (ChanChance(40)) b->set_image_url("https://example.com/ch/" + std::to_string(ChanRand(9)) + ".png");
    if (ChanChance(30)) b->set_header("https://example.com/hd/" + std::to_string(ChanRand(9)) + ".png");
    if (ChanChance(40)) b->set_rules("be kind");
    if (ChanChance(70)) b->set_casting_mode(static_cast<CastingMode>(ChanRand(4)));
    if (ChanChance(80)) b->set_membership_mode(static_cast<MembershipMode>(ChanChance(50) ? 1 : ChanRand(3)));
    d.set_type(MESSAGE_TYPE_CHANNEL_UPDATE);
    ChannelSubmit(std::move(d), ChanChance(90) && owner ? *owner : ChanFid());
  } else if (x < 70) {
    auto* b = d.mutable_channel_member_body();
    b->set_channel_id(id);
    d.set_type(MESSAGE_TYPE_CHANNEL_MEMBER);
    const uint64_t y = ChanRand(100);
    uint64_t who = author(), target = ChanFid();
    ChannelMemberAction action = CHANNEL_MEMBER_ACTION_ADD_MEMBER;
    if (y < 25) {
      action = CHANNEL_MEMBER_ACTION_ADD_MEMBER;  // an invitation
    } else if (y < 40) {
      action = CHANNEL_MEMBER_ACTION_ADD_MEMBER;  // a self-add (allowed under OPEN)
      who = target;
    } else if (y < 50) {
      action = CHANNEL_MEMBER_ACTION_REMOVE_MEMBER;  // leaving
      target = who = ChanChance(70) ? pick(members) : pick(mods);
    } else if (y < 58) {
      action = CHANNEL_MEMBER_ACTION_REMOVE_MEMBER;
      target = pick(members);
    } else if (y < 70) {
      action = CHANNEL_MEMBER_ACTION_ADD_MODERATOR;
      target = ChanChance(70) ? pick(members) : ChanFid();
    } else if (y < 78) {
      action = CHANNEL_MEMBER_ACTION_REMOVE_MODERATOR;
      target = pick(mods);
    } else if (y < 90) {
      action = CHANNEL_MEMBER_ACTION_BAN;
      target = ChanChance(15) && owner ? *owner : ChanChance(50) ? pick(members) : ChanFid();
    } else {
      action = CHANNEL_MEMBER_ACTION_UNBAN;
      target = pick(banned);
    }
    b->set_fid(target);
    b->set_action(action);
    ChannelSubmit(std::move(d), who);
  } else if (x < 80) {
    auto* b = d.mutable_channel_pin_body();
    b->set_channel_id(id);
    if (!ChanChance(25) && !recent_casts_.empty()) {
      const Hash20& h = recent_casts_[ChanRand(recent_casts_.size())].second;
      b->set_cast_hash(std::string(reinterpret_cast<const char*>(h.data()), h.size()));
    }
    d.set_type(MESSAGE_TYPE_CHANNEL_PIN);
    ChannelSubmit(std::move(d), author());
  } else if (x < 92) {
    auto* b = d.mutable_channel_moderate_body();
    b->set_channel_id(id);
    std::string cast;
    if ((hidden_pool_.empty() || ChanChance(40)) && !recent_casts_.empty()) {
      const Hash20& h = recent_casts_[ChanRand(recent_casts_.size())].second;
      cast.assign(reinterpret_cast<const char*>(h.data()), h.size());
      if (hidden_pool_.size() < 16) hidden_pool_.push_back(cast);
    } else if (!hidden_pool_.empty()) {
      cast = hidden_pool_[ChanRand(hidden_pool_.size())];
    } else {
      return;
    }
    b->set_cast_hash(cast);
    b->set_action(ChanChance(60) ? CHANNEL_MODERATE_ACTION_HIDE : CHANNEL_MODERATE_ACTION_UNHIDE);
    d.set_type(MESSAGE_TYPE_CHANNEL_MODERATE);
    ChannelSubmit(std::move(d), author());
  } else if (!channel_msgs_.empty()) {
    // An old message submitted again: it takes its slot again if its author still may
    // (nothing stops a replay of a superseded message), a duplicate if it holds it now.
    const uint32_t idx = node_.ResubmitChannelMessage(channel_msgs_[ChanRand(channel_msgs_.size())]);
    if (idx != kNone) channel_msgs_.push_back(idx);
  }
}

uint64_t Generator::BuildHistory() {
  const uint64_t total_ops = uint64_t{opt_.fids} * opt_.messages_per_fid;
  uint64_t blocks = opt_.blocks;
  // Enough blocks that a shard's block stays well below the 14-bit sequence.
  const uint64_t min_blocks = total_ops / (uint64_t{node_.num_shards()} * 4000) + 1;
  if (blocks == 0) blocks = std::max<uint64_t>(20, min_blocks);
  const uint64_t reg_blocks = std::max<uint64_t>(1, blocks / 4);
  for (uint64_t p = 1; p <= blocks; ++p) {
    planned_ = p;
    node_.BeginBlock(p);
    if (p <= reg_blocks) {
      const uint64_t from = opt_.fids * (p - 1) / reg_blocks, to = opt_.fids * p / reg_blocks;
      for (uint64_t i = from; i < to; ++i) Register(i + 1);
    }
    const uint64_t ops = total_ops * p / blocks - total_ops * (p - 1) / blocks;
    for (uint64_t i = 0; i < ops && !registered_.empty(); ++i) Op(registered_[Rand(registered_.size())]);
    ChannelOps(ops);
    node_.EndBlock();
  }
  node_.SignPending(opt_.sign_threads);
  return blocks;
}

uint64_t Generator::ExtraHistory(uint32_t blocks) {
  const uint64_t total_ops = uint64_t{opt_.fids} * opt_.messages_per_fid;
  const uint64_t ops = std::max<uint64_t>(1, total_ops / std::max<uint64_t>(1, planned_));
  for (uint32_t b = 0; b < blocks; ++b) {
    planned_++;
    node_.BeginBlock(planned_);
    for (uint64_t i = 0; i < ops && !registered_.empty(); ++i) Op(registered_[Rand(registered_.size())]);
    ChannelOps(ops);
    node_.EndBlock();
  }
  node_.SignPending(opt_.sign_threads);
  return planned_;
}

uint64_t Generator::LiveBlock(uint32_t ops) {
  const uint64_t before = CountEvents();
  planned_++;
  node_.BeginBlock(planned_);
  for (uint32_t i = 0; i < ops && !registered_.empty(); ++i) Op(registered_[Rand(registered_.size())]);
  ChannelOps(ops);
  node_.SignPending(1);
  node_.EndBlock();
  return CountEvents() - before;
}

}  // namespace waypoint::testnode
