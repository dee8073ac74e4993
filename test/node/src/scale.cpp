// Scale mode of the test node: see scale.hpp and docs/test-node.md ("Scale mode").
#include "waypoint/testnode/scale.hpp"

#include <grpcpp/grpcpp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <list>
#include <mutex>
#include <numeric>
#include <optional>
#include <queue>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "hub_event.pb.h"
#include "onchain_event.pb.h"
#include "rpc.grpc.pb.h"
#include "waypoint/testnode/node.hpp"
#include "waypoint/testnode/wire.hpp"

namespace waypoint::testnode {

namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;
using grpc::Status;
using grpc::StatusCode;
using K = ScaleKind;

// ---- constants of the dataset's shape (docs/test-node.md) ---------------------------------

// Timeline of the messages, in Farcaster seconds: three years from early 2022. Fid f
// registers at a point of the first 90% proportional to f (low fids are old, as on
// mainnet) and spreads its messages evenly (jittered) from there to the end.
constexpr uint32_t kTimelineStart = 30000000;
constexpr uint32_t kTimelineSecs = 94608000;
constexpr int64_t kFarcasterEpoch = 1609459200;
// Kinds of a fresh (non-remove) message, per mille: reactions, casts, links, user data,
// verifications in the proportions 50 : 25 : 15 : 4 : 1.
constexpr uint32_t kKindCut[] = {526, 789, 947, 989, 1000};
// Per mille of cast/reaction/link adds the fid's next message removes, and of the
// remaining adds pruned once the fid has sent kPruneAge more messages (storage limits
// prune the oldest messages of busy fids).
constexpr uint32_t kRemovePerMille = 50;
constexpr uint32_t kPrunePerMille = 50;
constexpr uint32_t kPruneAge = 64;  // <= 64: a bit of FidWalk::prune_mask per message
constexpr uint32_t kKeyPool = 64;
constexpr uint32_t kEventsPerShardBlock = 500;  // planned; a block never passes kMaxSeq
// Events kept per shard behind the furthest one sent: a reconnect resumes at the sidecar's
// durable cursor, at most its queue and a batch behind.
constexpr size_t kKeepBehind = 500000;
const UserDataType kUdTypes[] = {USER_DATA_TYPE_PFP, USER_DATA_TYPE_DISPLAY,  USER_DATA_TYPE_BIO,
                                 USER_DATA_TYPE_URL, USER_DATA_TYPE_USERNAME, USER_DATA_TYPE_LOCATION};
constexpr size_t kUdTypeCount = std::size(kUdTypes);
// Cast text and bios are cut from this (realistic byte mix for TOAST and WAL compression).
const char kProse[] =
    "gm frens, just shipped a new frame for the channel and it is wild how fast things move here. "
    "anyone going to the meetup next week? would love to talk about onchain social, clients, "
    "protocol upgrades and why storage rent is actually a good idea. hot take: the best apps "
    "are the ones you forget you are using. building in public is hard but worth it, thanks to "
    "everyone who tried the beta and sent feedback. new post on the blog about indexing the "
    "network into postgres, benchmarks inside. what are you reading this weekend? I keep coming "
    "back to the same three books about distributed systems and every time I learn something. "
    "the sunset from the office today was unreal, photos in the replies. degen tips incoming. ";
constexpr size_t kProseLen = sizeof(kProse) - 1;

// Onchain events of a fid's registration, in emission order.
constexpr uint32_t kOnchainCount = 3;
const OnChainEventType kOnchainTypes[kOnchainCount] = {EVENT_TYPE_ID_REGISTER, EVENT_TYPE_STORAGE_RENT,
                                                       EVENT_TYPE_SIGNER};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A cheap generator seeded per (fid, index, purpose): a message never depends on the
// order in which messages were generated.
struct Rng {
  uint64_t s;
  uint64_t Next() { return s = Mix(s); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) / static_cast<double>(uint64_t{1} << 53); }
  bool PerMille(uint32_t p) { return Below(1000) < p; }
  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t v = Next();
      for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
    }
    return out;
  }
};

std::string Sha256(const std::string& in) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d);
  return std::string(reinterpret_cast<char*>(d), sizeof d);
}

std::string Le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string Be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[7 - i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::optional<uint64_t> ParseBe64(const std::string& s) {
  if (s.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

bool IsCrlAdd(K k) { return k == K::kCastAdd || k == K::kReactionAdd || k == K::kLinkAdd; }
K RemoveOf(K add) {
  return add == K::kCastAdd ? K::kCastRemove : add == K::kReactionAdd ? K::kReactionRemove : K::kLinkRemove;
}
Store StoreOf(K k) {
  switch (k) {
    case K::kCastAdd:
    case K::kCastRemove: return Store::kCast;
    case K::kReactionAdd:
    case K::kReactionRemove: return Store::kReaction;
    case K::kLinkAdd:
    case K::kLinkRemove: return Store::kLink;
    case K::kUserData: return Store::kUserData;
    case K::kVerification: return Store::kVerification;
  }
  return Store::kCount;
}

// Where a fid is in its message sequence (both the stream and a backfill walk with one).
struct FidWalk {
  uint32_t k = 0;            // next message index
  bool registered = false;   // its on-chain registration was emitted (stream only)
  bool remove_next = false;  // message k removes message k - 1
  uint64_t prune_mask = 0;   // bit i: message k-1-i is an add pruned at age kPruneAge
  std::array<uint32_t, kUdTypeCount> last_ud;
  FidWalk() { last_ud.fill(kNone); }
};

struct Step {
  uint32_t k = 0;
  K kind = K::kReactionAdd;
  uint32_t deleted = kNone;  // the message this one deletes (its remove target, or the user data it supersedes)
  uint32_t pruned = kNone;   // a message pruned right after this one
};

}  // namespace

// ---- the dataset ------------------------------------------------------------------------

class ScaleDataset {
 public:
  explicit ScaleDataset(const ScaleOptions& o) : opt_(o) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium init failed");
    const uint32_t f = o.fids ? o.fids : static_cast<uint32_t>(std::max<uint64_t>(100, o.messages / 600));
    opt_.fids = f;
    PlanCounts();
    shard_.resize(f);
    by_shard_.resize(o.shards);
    for (uint32_t fid = 1; fid <= f; ++fid) {
      shard_[fid - 1] = static_cast<uint8_t>(DataShardOf(fid, o.shards));
      by_shard_[shard_[fid - 1] - 1].push_back(fid);
    }
    BuildAlias();
    for (uint32_t i = 0; i < kKeyPool; ++i) keys_.push_back(DeriveSignerKey(o.seed, 0, i));
    // Link targets: fid-dependent offset plus index * stride, modulo a space no fid's
    // sequence exceeds, so a fid never follows the same target twice (no conflicts).
    link_space_ = std::max<uint64_t>(f, max_count_ + 1);
    link_stride_ = 7919;
    while (std::gcd(link_stride_, link_space_) != 1) link_stride_ += 2;
  }

  const ScaleOptions& opt() const { return opt_; }
  uint32_t fids() const { return opt_.fids; }
  uint64_t total() const { return total_; }
  uint32_t Count(uint32_t fid) const { return counts_[fid - 1]; }
  uint32_t ShardOf(uint32_t fid) const { return shard_[fid - 1]; }
  const std::vector<uint32_t>& FidsOfShard(uint32_t s) const { return by_shard_.at(s - 1); }
  uint32_t max_count() const { return max_count_; }

  uint32_t RegTs(uint32_t fid) const {
    const uint64_t planned = kTimelineStart + uint64_t{fid - 1} * (kTimelineSecs / 10 * 9) / opt_.fids;
    // Room for strictly increasing timestamps: at least two seconds per message.
    const uint64_t latest = uint64_t{kTimelineStart} + kTimelineSecs - 2 * uint64_t{Count(fid)} - 4;
    return static_cast<uint32_t>(std::min(planned, latest));
  }
  // Strictly increasing in k (jitter below half a slot), so a store's (timestamp, hash)
  // order is index order and a page token's timestamp locates its message.
  uint32_t Ts(uint32_t fid, uint32_t k) const {
    const uint32_t reg = RegTs(fid);
    const double span = static_cast<double>(kTimelineStart + kTimelineSecs - reg - 1);
    const double u = 0.5 * R(fid, k, 1).Unit();
    return reg + 1 + static_cast<uint32_t>(span * (k + u) / Count(fid));
  }

  K RawKind(uint32_t fid, uint32_t k) const {
    const uint64_t x = R(fid, k, 2).Below(1000);
    uint32_t i = 0;
    while (x >= kKindCut[i]) ++i;
    static const K kinds[] = {K::kReactionAdd, K::kCastAdd, K::kLinkAdd, K::kUserData, K::kVerification};
    return kinds[i];
  }
  size_t UdType(uint32_t fid, uint32_t k) const { return R(fid, k, 3).Below(kUdTypeCount); }

  Step Next(uint32_t fid, FidWalk& w) const {
    Step s;
    s.k = w.k++;
    const uint32_t c = Count(fid);
    uint64_t candidate = 0;
    if (w.remove_next) {
      w.remove_next = false;
      s.kind = RemoveOf(RawKind(fid, s.k - 1));
      s.deleted = s.k - 1;
    } else {
      s.kind = RawKind(fid, s.k);
      if (IsCrlAdd(s.kind)) {
        Rng r = R(fid, s.k, 4);
        if (r.PerMille(kRemovePerMille) && s.k + 1 < c) {
          w.remove_next = true;
        } else if (r.PerMille(kPrunePerMille)) {
          candidate = 1;
        }
      } else if (s.kind == K::kUserData) {
        const size_t t = UdType(fid, s.k);
        s.deleted = w.last_ud[t];
        w.last_ud[t] = s.k;
      }
    }
    if (w.prune_mask >> (kPruneAge - 1) & 1) s.pruned = s.k - kPruneAge;
    w.prune_mask = (w.prune_mask << 1) | candidate;
    return s;
  }

  MessageData Data(uint32_t fid, uint32_t k, K kind) const {
    MessageData d;
    d.set_fid(fid);
    d.set_timestamp(Ts(fid, k));
    d.set_network(FARCASTER_NETWORK_MAINNET);
    Rng r = R(fid, k, 5);
    switch (kind) {
      case K::kCastAdd: {
        d.set_type(MESSAGE_TYPE_CAST_ADD);
        auto* b = d.mutable_cast_add_body();
        b->set_text(Prose(r, 10 + r.Below(200)));
        const uint64_t p = r.Below(100);
        if (p < 35) {
          const uint64_t pfid = PopularFid(r);
          b->mutable_parent_cast_id()->set_fid(pfid);
          b->mutable_parent_cast_id()->set_hash(r.Bytes(20));
          // --scale-thread-parents: an earlier cast add of that fid, if one of a few draws
          // is one (strictly earlier, so chains end); it may be removed or pruned later.
          if (opt_.thread_parents) {
            Rng q = R(fid, k, 6);
            const uint32_t pf = static_cast<uint32_t>(pfid);
            const uint32_t ts = Ts(fid, k);
            for (int tries = 0; tries < 8; ++tries) {
              const uint32_t pk = static_cast<uint32_t>(q.Below(Count(pf)));
              if (RawKind(pf, pk) != K::kCastAdd || Ts(pf, pk) >= ts) continue;
              const Hash20 h = MessageHashOf(Data(pf, pk, K::kCastAdd).SerializeAsString());
              b->mutable_parent_cast_id()->set_hash(std::string(reinterpret_cast<const char*>(h.data()), 20));
              break;
            }
          }
        } else if (p < 45) {
          b->set_parent_url("https://warpcast.com/~/channel/c" + std::to_string(r.Below(500)));
        }
        if (r.Below(100) < 10) {
          const uint64_t n = 1 + r.Below(2);
          for (uint64_t i = 0; i < n; ++i) {
            b->add_mentions(PopularFid(r));
            b->add_mentions_positions(static_cast<uint32_t>(i * 4));
          }
        }
        const uint64_t e = r.Below(100);
        if (e < 30) {
          b->add_embeds()->set_url("https://i.imgur.com/" + Hex(r.Bytes(6)) + ".jpg");
        } else if (e < 35) {
          auto* c = b->add_embeds()->mutable_cast_id();
          c->set_fid(PopularFid(r));
          c->set_hash(r.Bytes(20));
        }
        break;
      }
      case K::kCastRemove: {
        d.set_type(MESSAGE_TYPE_CAST_REMOVE);
        const Hash20 h = MessageHashOf(Data(fid, k - 1, K::kCastAdd).SerializeAsString());
        d.mutable_cast_remove_body()->set_target_hash(std::string(reinterpret_cast<const char*>(h.data()), 20));
        break;
      }
      case K::kReactionAdd: {
        d.set_type(MESSAGE_TYPE_REACTION_ADD);
        auto* b = d.mutable_reaction_body();
        b->set_type(r.Below(100) < 80 ? REACTION_TYPE_LIKE : REACTION_TYPE_RECAST);
        b->mutable_target_cast_id()->set_fid(PopularFid(r));
        b->mutable_target_cast_id()->set_hash(r.Bytes(20));
        break;
      }
      case K::kReactionRemove:
        d.set_type(MESSAGE_TYPE_REACTION_REMOVE);
        *d.mutable_reaction_body() = Data(fid, k - 1, K::kReactionAdd).reaction_body();
        break;
      case K::kLinkAdd: {
        d.set_type(MESSAGE_TYPE_LINK_ADD);
        d.mutable_link_body()->set_type("follow");
        d.mutable_link_body()->set_target_fid(1 + (uint64_t{fid} * 2654435761u + k * link_stride_) % link_space_);
        break;
      }
      case K::kLinkRemove:
        d.set_type(MESSAGE_TYPE_LINK_REMOVE);
        *d.mutable_link_body() = Data(fid, k - 1, K::kLinkAdd).link_body();
        break;
      case K::kUserData: {
        d.set_type(MESSAGE_TYPE_USER_DATA_ADD);
        const UserDataType t = kUdTypes[UdType(fid, k)];
        auto* b = d.mutable_user_data_body();
        b->set_type(t);
        switch (t) {
          case USER_DATA_TYPE_PFP: b->set_value("https://i.imgur.com/" + Hex(r.Bytes(6)) + ".png"); break;
          case USER_DATA_TYPE_DISPLAY: b->set_value("User " + std::to_string(fid) + " #" + std::to_string(k)); break;
          case USER_DATA_TYPE_BIO: b->set_value(Prose(r, 20 + r.Below(140))); break;
          case USER_DATA_TYPE_URL: b->set_value("https://example.com/" + std::to_string(fid)); break;
          case USER_DATA_TYPE_USERNAME: b->set_value("user" + std::to_string(fid)); break;
          default: b->set_value("geo:" + std::to_string(r.Below(180)) + "," + std::to_string(r.Below(360))); break;
        }
        break;
      }
      case K::kVerification: {
        d.set_type(MESSAGE_TYPE_VERIFICATION_ADD_ETH_ADDRESS);
        const bool solana = r.Below(10) == 0;
        auto* v = d.mutable_verification_add_address_body();
        // Unique per (fid, index): no verification ever conflicts with another.
        std::string address = Sha256("address" + Le(opt_.seed) + Le(fid) + Le(k)).substr(0, solana ? 32 : 20);
        v->set_address(address);
        v->set_claim_signature(r.Bytes(solana ? 64 : 65));
        v->set_block_hash(r.Bytes(32));
        v->set_protocol(solana ? PROTOCOL_SOLANA : PROTOCOL_ETHEREUM);
        break;
      }
    }
    return d;
  }

  const SignerKey& KeyOf(uint32_t fid) const { return keys_[Mix(opt_.seed * 31 + fid) % kKeyPool]; }

  // The signed Message bytes (data, BLAKE3-160 hash, Ed25519 signature, signer).
  std::string MessageBytes(uint32_t fid, uint32_t k, K kind) const {
    const std::string data = Data(fid, k, kind).SerializeAsString();
    const Hash20 hash = MessageHashOf(data);
    const SignerKey& key = KeyOf(fid);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, hash.data(), hash.size(), key.sk.data());
    std::string out;
    out.reserve(data.size() + 140);
    wire::PutBytes(out, 1, data);
    wire::PutBytes(out, 2, std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
    wire::PutUint(out, 3, HASH_SCHEME_BLAKE3);
    wire::PutBytes(out, 4, std::string_view(reinterpret_cast<char*>(sig), sizeof sig));
    wire::PutUint(out, 5, SIGNATURE_SCHEME_ED25519);
    wire::PutBytes(out, 6, std::string_view(reinterpret_cast<const char*>(key.pk.data()), 32));
    return out;
  }

  // On-chain event i (kOnchainTypes) of the fid's registration.
  std::string OnchainBytes(uint32_t fid, uint32_t i) const {
    OnChainEvent ev;
    ev.set_type(kOnchainTypes[i]);
    ev.set_chain_id(10);
    ev.set_block_number(110000000 + fid);
    ev.set_block_hash(Sha256("eth block" + Le(opt_.seed) + Le(fid)));
    ev.set_block_timestamp(uint64_t{RegTs(fid)} + kFarcasterEpoch);
    ev.set_transaction_hash(Sha256("eth tx" + Le(opt_.seed) + Le(fid)));
    ev.set_log_index(i);
    ev.set_fid(fid);
    ev.set_version(2);
    switch (kOnchainTypes[i]) {
      case EVENT_TYPE_ID_REGISTER: {
        auto* b = ev.mutable_id_register_event_body();
        b->set_to(Sha256("custody" + Le(opt_.seed) + Le(fid)).substr(0, 20));
        b->set_event_type(ID_REGISTER_EVENT_TYPE_REGISTER);
        b->set_recovery_address(Sha256("recovery" + Le(opt_.seed) + Le(fid)).substr(0, 20));
        break;
      }
      case EVENT_TYPE_STORAGE_RENT: {
        auto* b = ev.mutable_storage_rent_event_body();
        b->set_payer(Sha256("payer" + Le(opt_.seed) + Le(fid)).substr(0, 20));
        b->set_units(1 + Count(fid) / 5000);
        b->set_expiry(static_cast<uint32_t>(RegTs(fid) + kFarcasterEpoch + 365 * 86400));
        break;
      }
      default: {
        auto* b = ev.mutable_signer_event_body();
        b->set_key(std::string(reinterpret_cast<const char*>(KeyOf(fid).pk.data()), 32));
        b->set_key_type(1);
        b->set_event_type(SIGNER_EVENT_TYPE_ADD);
        b->set_metadata(Sha256("metadata" + Le(fid)));
        b->set_metadata_type(1);
        break;
      }
    }
    return ev.SerializeAsString();
  }

  // What a fid holds at the end of its sequence, per store, each list in (timestamp,
  // hash) = index order; an entry is (kind << 28) | index.
  struct Held {
    std::array<std::vector<uint32_t>, kStoreCount> by_store;
  };
  Held Walk(uint32_t fid) const {
    const uint32_t c = Count(fid);
    std::vector<uint8_t> gone(c, 0);
    std::vector<uint8_t> kind(c, 0);
    FidWalk w;
    while (w.k < c) {
      const Step s = Next(fid, w);
      kind[s.k] = static_cast<uint8_t>(s.kind);
      if (s.deleted != kNone) gone[s.deleted] = 1;
      if (s.pruned != kNone) gone[s.pruned] = 1;
    }
    Held h;
    for (uint32_t k = 0; k < c; ++k) {
      if (gone[k]) continue;
      h.by_store[static_cast<size_t>(StoreOf(static_cast<K>(kind[k])))].push_back((uint32_t{kind[k]} << 28) | k);
    }
    return h;
  }
  // Held messages of a fid without building the lists (the plan file).
  uint64_t HeldCount(uint32_t fid) const {
    const uint32_t c = Count(fid);
    uint64_t gone = 0;
    FidWalk w;
    while (w.k < c) {
      const Step s = Next(fid, w);
      gone += (s.deleted != kNone) + (s.pruned != kNone);
    }
    return c - gone;
  }

  static std::string Hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char ch : s) {
      out.push_back(d[ch >> 4]);
      out.push_back(d[ch & 15]);
    }
    return out;
  }

 private:
  Rng R(uint32_t fid, uint32_t k, uint32_t purpose) const {
    return Rng{Mix(Mix(opt_.seed * 0x2545f4914f6cdd1dull + purpose) ^ (uint64_t{fid} << 32 | k))};
  }

  std::string Prose(Rng& r, uint64_t len) const {
    len = std::min<uint64_t>(len, kProseLen);
    return std::string(kProse + r.Below(kProseLen - len + 1), len);
  }

  // Per-fid counts: Pareto(alpha) weights, scaled (bisection on the scale) so the counts,
  // each at least 1 and at most 1% of the total, sum to about the requested total.
  void PlanCounts() {
    const uint32_t f = opt_.fids;
    std::vector<double> w(f);
    for (uint32_t i = 0; i < f; ++i) {
      Rng r{Mix(opt_.seed * 0x51ed27fbull + i + 1)};
      w[i] = std::pow(1.0 - r.Unit(), -1.0 / opt_.alpha);
    }
    const double cap = std::max<double>(10.0, std::min<double>(opt_.messages / 100.0, kTimelineSecs / 4.0));
    auto count = [&](double lambda, uint32_t i) { return std::min(cap, std::max(1.0, std::floor(w[i] * lambda))); };
    auto sum = [&](double lambda) {
      double s = 0;
      for (uint32_t i = 0; i < f; ++i) s += count(lambda, i);
      return s;
    };
    double lo = 1e-9, hi = 1e12;
    for (int it = 0; it < 200 && hi / lo > 1 + 1e-12; ++it) {
      const double mid = std::sqrt(lo * hi);
      (sum(mid) < static_cast<double>(opt_.messages) ? lo : hi) = mid;
    }
    counts_.resize(f);
    total_ = 0;
    max_count_ = 0;
    for (uint32_t i = 0; i < f; ++i) {
      counts_[i] = static_cast<uint32_t>(count(hi, i));
      total_ += counts_[i];
      max_count_ = std::max(max_count_, counts_[i]);
    }
  }

  // Walker's alias table over fids weighted by their message counts: reply, reaction and
  // mention targets favour busy fids, as on mainnet.
  void BuildAlias() {
    const uint32_t f = opt_.fids;
    alias_prob_.resize(f);
    alias_.resize(f);
    std::vector<double> p(f);
    for (uint32_t i = 0; i < f; ++i) p[i] = static_cast<double>(counts_[i]) * f / static_cast<double>(total_);
    std::vector<uint32_t> small, large;
    for (uint32_t i = 0; i < f; ++i) (p[i] < 1 ? small : large).push_back(i);
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      alias_prob_[s] = static_cast<float>(p[s]);
      alias_[s] = l;
      p[l] -= 1 - p[s];
      if (p[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) alias_prob_[i] = 1, alias_[i] = i;
    for (uint32_t i : small) alias_prob_[i] = 1, alias_[i] = i;
  }
  uint64_t PopularFid(Rng& r) const {
    const uint32_t i = static_cast<uint32_t>(r.Below(opt_.fids));
    return 1 + (r.Unit() < alias_prob_[i] ? i : alias_[i]);
  }

  ScaleOptions opt_;
  std::vector<uint32_t> counts_;
  std::vector<uint8_t> shard_;
  std::vector<std::vector<uint32_t>> by_shard_;
  std::vector<float> alias_prob_;
  std::vector<uint32_t> alias_;
  std::vector<SignerKey> keys_;
  uint64_t total_ = 0;
  uint32_t max_count_ = 0;
  uint64_t link_space_ = 1, link_stride_ = 1;
};

// ---- the event log ----------------------------------------------------------------------

namespace {

// One event of a shard's log, without bytes (built when sent).
struct ScaleRec {
  uint64_t id = 0;
  uint32_t fid = 0;
  uint32_t k = 0;        // MERGE: the message; PRUNE: the pruned message; ON_CHAIN: kOnchainTypes index
  uint32_t aux = kNone;  // MERGE: the deleted message, if any
  uint8_t type = 0;      // HubEventType
  uint8_t kind = 0;      // ScaleKind of message k
};

struct ScaleBlock {
  uint64_t height = 0;
  uint32_t ts = 0;
  std::map<int32_t, uint32_t> counts;
  uint32_t num_events = 0;  // including BLOCK_CONFIRMED
};

struct ScaleLog {
  std::deque<ScaleRec> recs;
  uint64_t base = 0;  // absolute index of recs.front()
  std::deque<ScaleBlock> blocks;
  uint64_t height = 0;
  std::atomic<uint64_t> furthest_sent{0};  // absolute index + 1 of the furthest event any stream sent
  uint64_t end() const { return base + recs.size(); }
  // Absolute index of the first event with id >= id.
  uint64_t LowerBound(uint64_t id) const {
    auto it = std::lower_bound(recs.begin(), recs.end(), id, [](const ScaleRec& r, uint64_t v) { return r.id < v; });
    return base + static_cast<uint64_t>(it - recs.begin());
  }
  const ScaleBlock* Block(uint64_t height) const {
    if (blocks.empty() || height < blocks.front().height || height > blocks.back().height) return nullptr;
    return &blocks[height - blocks.front().height];
  }
};

}  // namespace

class SubscribeStream;

struct ScaleServer::Impl {
  explicit Impl(const ScaleOptions& o) : ds(o), logs(o.shards), walks(ds.fids()) {}

  ScaleDataset ds;
  mutable std::shared_mutex mu;  // logs
  std::vector<ScaleLog> logs;    // index = shard - 1
  // Generator state: one cursor per fid and a heap of (next timestamp, fid).
  std::vector<FidWalk> walks;
  std::priority_queue<std::pair<uint32_t, uint32_t>, std::vector<std::pair<uint32_t, uint32_t>>, std::greater<>> heap;
  uint64_t block_secs = 1;
  uint64_t next_block_start = kTimelineStart;
  std::atomic<uint64_t> messages{0};  // MERGE_MESSAGE events generated
  std::atomic<uint64_t> events{0};    // events other than BLOCK_CONFIRMED generated

  std::mutex subs_mu;
  std::set<SubscribeStream*> subs;
  bool stopping = false;
  std::atomic<bool> stop{false};
  std::thread producer;
  std::unique_ptr<grpc::Service> service;
  std::unique_ptr<grpc::Server> server;

  // Backfill: the held lists of the fids read most recently.
  std::mutex cache_mu;
  std::list<std::pair<uint32_t, std::shared_ptr<const ScaleDataset::Held>>> cache;

  std::shared_ptr<const ScaleDataset::Held> HeldOf(uint32_t fid) {
    {
      std::lock_guard<std::mutex> l(cache_mu);
      for (auto it = cache.begin(); it != cache.end(); ++it) {
        if (it->first == fid) {
          cache.splice(cache.begin(), cache, it);
          return cache.front().second;
        }
      }
    }
    auto h = std::make_shared<const ScaleDataset::Held>(ds.Walk(fid));
    std::lock_guard<std::mutex> l(cache_mu);
    cache.emplace_front(fid, h);
    if (cache.size() > 64) cache.pop_back();
    return h;
  }

  std::string EventBytes(uint32_t shard, const ScaleRec& e, const ScaleBlock& blk) const {
    std::string body;
    uint32_t body_field = 0;
    switch (e.type) {
      case HUB_EVENT_TYPE_BLOCK_CONFIRMED: {
        BlockConfirmedBody bc;
        bc.set_block_number(blk.height);
        bc.set_shard_index(shard);
        bc.set_timestamp(blk.ts);
        bc.set_block_hash(Sha256("block" + Le(ds.opt().seed) + Le(shard) + Le(blk.height)));
        bc.set_total_events(blk.num_events - 1);
        for (const auto& [t, n] : blk.counts) (*bc.mutable_event_counts_by_type())[t] = n;
        bc.set_max_block_event_seqnum(blk.num_events - 1);
        body = bc.SerializeAsString();
        body_field = 16;
        break;
      }
      case HUB_EVENT_TYPE_MERGE_MESSAGE:
        wire::PutBytes(body, 1, ds.MessageBytes(e.fid, e.k, static_cast<K>(e.kind)));
        if (e.aux != kNone) wire::PutBytes(body, 2, ds.MessageBytes(e.fid, e.aux, ds.RawKind(e.fid, e.aux)));
        body_field = 3;
        break;
      case HUB_EVENT_TYPE_PRUNE_MESSAGE:
        wire::PutBytes(body, 1, ds.MessageBytes(e.fid, e.k, static_cast<K>(e.kind)));
        body_field = 4;
        break;
      case HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT:
        wire::PutBytes(body, 1, ds.OnchainBytes(e.fid, e.k));
        body_field = 11;
        break;
      default: break;
    }
    std::string out;
    out.reserve(body.size() + 32);
    wire::PutUint(out, 1, e.type);
    wire::PutUint(out, 2, e.id);
    if (body_field < 12) wire::PutBytes(out, body_field, body);
    wire::PutUint(out, 12, blk.height);
    wire::PutUint(out, 14, shard);
    wire::PutUint(out, 15, blk.ts);
    if (body_field > 15) wire::PutBytes(out, body_field, body);
    return out;
  }

  // Copies event `abs` of a shard (and its block) out of the log; false if trimmed/not yet there.
  bool EventAt(uint32_t shard, uint64_t abs, ScaleRec* rec, ScaleBlock* blk) const {
    const ScaleLog& log = logs[shard - 1];
    if (abs < log.base || abs >= log.end()) return false;
    *rec = log.recs[abs - log.base];
    const ScaleBlock* b = log.Block(rec->id >> 14);
    if (!b) return false;
    *blk = *b;
    return true;
  }

  void InitGenerator() {
    for (uint32_t fid = 1; fid <= ds.fids(); ++fid) heap.emplace(ds.RegTs(fid), fid);
    const uint64_t planned_events = ds.total() * 21 / 20 + uint64_t{ds.fids()} * kOnchainCount * 2;
    block_secs = std::max<uint64_t>(
        1, uint64_t{kTimelineSecs} * kEventsPerShardBlock * ds.opt().shards / std::max<uint64_t>(1, planned_events));
  }

  // Generates the next block (every shard) from the heap; false when the dataset is exhausted.
  bool GenerateBlock() {
    if (heap.empty()) return false;
    const uint32_t shards = ds.opt().shards;
    // Empty stretches of the timeline produce no blocks.
    if (heap.top().first >= next_block_start + block_secs) {
      next_block_start += (heap.top().first - next_block_start) / block_secs * block_secs;
    }
    const uint64_t block_end = next_block_start + block_secs;
    std::vector<std::vector<ScaleRec>> out(shards);
    uint64_t msgs = 0;
    auto full = [&] {
      for (const auto& v : out)
        if (v.size() + 2 * kOnchainCount + 2 >= kMaxSeq) return true;
      return false;
    };
    while (!heap.empty() && heap.top().first < block_end && !full()) {
      const uint32_t fid = heap.top().second;
      heap.pop();
      FidWalk& w = walks[fid - 1];
      const uint32_t shard = ds.ShardOf(fid);
      if (!w.registered) {
        w.registered = true;
        // As the real node: on-chain events on the fid's shard and once more elsewhere
        // (shard 0 there, which cannot be subscribed; here the next data shard).
        for (uint32_t i = 0; i < kOnchainCount; ++i) {
          ScaleRec r;
          r.type = HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT;
          r.fid = fid;
          r.k = i;
          out[shard - 1].push_back(r);
          if (shards > 1) out[shard % shards].push_back(r);
        }
      } else {
        const Step s = ds.Next(fid, w);
        ScaleRec r;
        r.type = HUB_EVENT_TYPE_MERGE_MESSAGE;
        r.fid = fid;
        r.k = s.k;
        r.kind = static_cast<uint8_t>(s.kind);
        r.aux = s.deleted;
        out[shard - 1].push_back(r);
        ++msgs;
        if (s.pruned != kNone) {
          ScaleRec p;
          p.type = HUB_EVENT_TYPE_PRUNE_MESSAGE;
          p.fid = fid;
          p.k = s.pruned;
          p.kind = static_cast<uint8_t>(ds.RawKind(fid, s.pruned));
          out[shard - 1].push_back(p);
        }
      }
      if (w.k < ds.Count(fid)) heap.emplace(ds.Ts(fid, w.k), fid);
    }
    // A block cut short by the 14-bit sequence continues in the next one at the same time.
    if (heap.empty() || heap.top().first >= block_end) next_block_start = block_end;
    uint64_t evs = 0;
    {
      std::unique_lock<std::shared_mutex> l(mu);
      for (uint32_t s = 1; s <= shards; ++s) {
        ScaleLog& log = logs[s - 1];
        ScaleBlock b;
        b.height = ++log.height;
        b.ts = static_cast<uint32_t>(block_end);
        b.num_events = 1;
        ScaleRec bc;
        bc.id = b.height << 14;
        bc.type = HUB_EVENT_TYPE_BLOCK_CONFIRMED;
        log.recs.push_back(bc);
        for (ScaleRec& r : out[s - 1]) {
          r.id = (b.height << 14) | b.num_events++;
          b.counts[r.type]++;
          log.recs.push_back(r);
        }
        evs += out[s - 1].size();
        log.blocks.push_back(std::move(b));
        // Trim what every stream has long passed (a reconnect resumes near its cursor).
        const uint64_t sent = log.furthest_sent.load();
        while (!log.recs.empty() && log.base + kKeepBehind < sent && log.recs.front().id >> 14 < log.height) {
          const uint64_t h = log.recs.front().id >> 14;
          while (!log.recs.empty() && log.recs.front().id >> 14 == h) {
            log.recs.pop_front();
            log.base++;
          }
          while (!log.blocks.empty() && log.blocks.front().height <= h) log.blocks.pop_front();
        }
      }
    }
    messages += msgs;
    events += evs;
    NotifyAll();
    return true;
  }

  void NotifyAll();
  void Register(SubscribeStream* s) {
    std::lock_guard<std::mutex> l(subs_mu);
    subs.insert(s);
  }
  void Unregister(SubscribeStream* s) {
    std::lock_guard<std::mutex> l(subs_mu);
    subs.erase(s);
  }
  bool Stopping() {
    std::lock_guard<std::mutex> l(subs_mu);
    return stopping;
  }

  uint64_t ReadRelease() const {
    if (ds.opt().release_file.empty()) return UINT64_MAX;
    std::ifstream in(ds.opt().release_file);
    uint64_t v = 0;
    if (!(in >> v)) return 0;
    return v;
  }

  void WriteStatus(uint64_t release, bool done) const {
    const std::string& path = ds.opt().status_file;
    if (path.empty()) return;
    std::ostringstream s;
    s << "release " << release << "\nmessages " << messages.load() << "\nevents " << events.load() << "\n";
    {
      std::shared_lock<std::shared_mutex> l(mu);
      for (uint32_t sh = 1; sh <= ds.opt().shards; ++sh) {
        const ScaleLog& log = logs[sh - 1];
        s << "last_id " << sh << " " << (log.recs.empty() ? 0 : log.recs.back().id) << "\n";
      }
    }
    s << "done " << (done ? 1 : 0) << "\n";
    const std::string tmp = path + ".tmp";
    { std::ofstream(tmp) << s.str(); }
    std::rename(tmp.c_str(), path.c_str());
  }

  void ProducerLoop() {
    uint64_t reported = UINT64_MAX - 1;
    bool done = false;
    while (!stop.load()) {
      const uint64_t release = ReadRelease();
      if (!done && messages.load() < release) {
        if (!GenerateBlock()) done = true;
        continue;
      }
      // Caught up with the release (or the dataset is complete): tell the bench once.
      if (release != reported) {
        WriteStatus(release, done || heap.empty());
        reported = release;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void WritePlan() const {
    const std::string& path = ds.opt().plan_file;
    if (path.empty()) return;
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp);
      out << "# fid\tshard\tmessages\theld\n";
      for (uint32_t fid = 1; fid <= ds.fids(); ++fid) {
        out << fid << '\t' << ds.ShardOf(fid) << '\t' << ds.Count(fid) << '\t' << ds.HeldCount(fid) << '\n';
      }
    }
    std::rename(tmp.c_str(), path.c_str());
  }
};

// ---- Subscribe --------------------------------------------------------------------------

class SubscribeStream : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  SubscribeStream(ScaleServer::Impl* srv, uint32_t shard, std::set<int> types, std::optional<uint64_t> from_id)
      : srv_(srv), shard_(shard), types_(std::move(types)) {
    std::shared_lock<std::shared_mutex> l(srv_->mu);
    const ScaleLog& log = srv_->logs[shard_ - 1];
    cursor_ = from_id ? log.LowerBound(*from_id) : log.end();
  }

  void Start() {
    srv_->Register(this);
    if (srv_->Stopping()) {
      FinishOnce(Status(StatusCode::UNAVAILABLE, "shutting down"));
      return;
    }
    Pump();
  }

  void Pump() {
    std::unique_lock<std::mutex> lk(mu_);
    if (writing_ || finished_) return;
    ScaleRec rec;
    ScaleBlock blk;
    bool have = false;
    {
      std::shared_lock<std::shared_mutex> l(srv_->mu);
      const ScaleLog& log = srv_->logs[shard_ - 1];
      cursor_ = std::max(cursor_, log.base);
      auto wanted = [&](uint64_t abs) { return types_.count(log.recs[abs - log.base].type) > 0; };
      while (cursor_ < log.end()) {
        const uint64_t abs = cursor_++;
        if (!wanted(abs)) continue;
        have = srv_->EventAt(shard_, abs, &rec, &blk);
        break;
      }
    }
    if (!have) return;
    // Built (and signed) outside the log lock: the producer is never held up by it.
    const std::string payload = srv_->EventBytes(shard_, rec, blk);
    writing_ = true;
    grpc::Slice slice(payload);
    buf_ = grpc::ByteBuffer(&slice, 1);
    lk.unlock();
    StartWrite(&buf_);
  }

  void FinishOnce(const Status& st) {
    std::unique_lock<std::mutex> lk(mu_);
    if (finished_) return;
    finished_ = true;
    if (writing_) {
      pending_finish_ = st;
      return;
    }
    lk.unlock();
    Finish(st);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lk(mu_);
    writing_ = false;
    if (pending_finish_) {
      Status st = *pending_finish_;
      pending_finish_.reset();
      lk.unlock();
      Finish(st);
      return;
    }
    if (!ok) {
      lk.unlock();
      FinishOnce(Status(StatusCode::CANCELLED, "write failed"));
      return;
    }
    std::atomic<uint64_t>& sent = srv_->logs[shard_ - 1].furthest_sent;
    uint64_t cur = sent.load();
    while (cur < cursor_ && !sent.compare_exchange_weak(cur, cursor_)) {
    }
    lk.unlock();
    Pump();
  }

  void OnCancel() override { FinishOnce(Status(StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    srv_->Unregister(this);
    delete this;
  }

 private:
  ScaleServer::Impl* srv_;
  uint32_t shard_;
  std::set<int> types_;
  std::mutex mu_;
  uint64_t cursor_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  std::optional<Status> pending_finish_;
  grpc::ByteBuffer buf_;
};

void ScaleServer::Impl::NotifyAll() {
  std::lock_guard<std::mutex> l(subs_mu);
  for (auto* s : subs) s->Pump();
}

// ---- the service ------------------------------------------------------------------------

namespace {

ServerUnaryReactor* Done(CallbackServerContext* ctx, const Status& st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(st);
  return r;
}

Status InvalidShard() { return Status(StatusCode::INVALID_ARGUMENT, "Invalid shard id"); }

class ErrorWriter : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit ErrorWriter(const Status& st) { Finish(st); }
  void OnDone() override { delete this; }
};

class ScaleService final : public HubService::WithRawCallbackMethod_Subscribe<HubService::CallbackService> {
 public:
  explicit ScaleService(ScaleServer::Impl* srv) : srv_(srv) {}

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(CallbackServerContext*, const grpc::ByteBuffer* raw) override {
    SubscribeRequest req;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (raw->Dump(&slices).ok()) {
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    const bool parsed = req.ParseFromString(bytes);
    const uint32_t shard = req.has_shard_index() ? req.shard_index() : 0;
    if (!parsed || shard == 0 || shard > srv_->ds.opt().shards) {
      return new ErrorWriter(parsed ? InvalidShard() : Status(StatusCode::INVALID_ARGUMENT, "bad request"));
    }
    std::set<int> types(req.event_types().begin(), req.event_types().end());
    auto* r = new SubscribeStream(srv_, shard, std::move(types),
                                  req.has_from_id() ? std::optional<uint64_t>(req.from_id()) : std::nullopt);
    r->Start();
    return r;
  }

  ServerUnaryReactor* GetInfo(CallbackServerContext* ctx, const GetInfoRequest*, GetInfoResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mu);
    const uint32_t shards = srv_->ds.opt().shards;
    resp->set_version("waypoint-test-node 0.1 (scale)");
    resp->set_peerid("waypoint-test-node");
    resp->set_num_shards(shards);
    resp->mutable_db_stats()->set_num_messages(srv_->messages.load());
    resp->mutable_db_stats()->set_num_fid_registrations(srv_->ds.fids());
    uint64_t max_height = 0;
    for (uint32_t s = 1; s <= shards; ++s) max_height = std::max(max_height, srv_->logs[s - 1].height);
    auto* s0 = resp->add_shard_infos();
    s0->set_shard_id(0);
    s0->set_max_height(max_height);
    for (uint32_t s = 1; s <= shards; ++s) {
      auto* si = resp->add_shard_infos();
      si->set_shard_id(s);
      si->set_max_height(srv_->logs[s - 1].height);
      si->set_num_fid_registrations(srv_->ds.FidsOfShard(s).size());
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetFids(CallbackServerContext* ctx, const FidsRequest* req, FidsResponse* resp) override {
    if (req->shard_id() == 0 || req->shard_id() > srv_->ds.opt().shards) return Done(ctx, InvalidShard());
    std::vector<uint32_t> fids = srv_->ds.FidsOfShard(req->shard_id());
    const bool reverse = req->reverse();
    if (reverse) std::reverse(fids.begin(), fids.end());
    const uint32_t page = req->page_size() ? req->page_size() : 1000;
    size_t pos = 0;
    if (!req->page_token().empty()) {
      auto after = ParseBe64(req->page_token());
      if (!after) return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "invalid page token"));
      while (pos < fids.size() && (reverse ? fids[pos] >= *after : fids[pos] <= *after)) ++pos;
    }
    const size_t end = std::min(fids.size(), pos + page);
    for (size_t i = pos; i < end; ++i) resp->add_fids(fids[i]);
    if (end < fids.size() && end > pos) resp->set_next_page_token(Be64(fids[end - 1]));
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetEvent(CallbackServerContext* ctx, const EventRequest* req, HubEvent* resp) override {
    const uint32_t shard = req->shard_index();
    if (shard == 0 || shard > srv_->ds.opt().shards) return Done(ctx, InvalidShard());
    ScaleRec rec;
    ScaleBlock blk;
    bool found = false;
    {
      std::shared_lock<std::shared_mutex> l(srv_->mu);
      const uint64_t abs = srv_->logs[shard - 1].LowerBound(req->id());
      found = srv_->EventAt(shard, abs, &rec, &blk) && rec.id == req->id();
    }
    if (!found) return Done(ctx, Status(StatusCode::NOT_FOUND, "event not found"));
    resp->ParseFromString(srv_->EventBytes(shard, rec, blk));
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetEvents(CallbackServerContext* ctx, const EventsRequest* req, EventsResponse* resp) override {
    const uint32_t shard = req->has_shard_index() ? req->shard_index() : 0;
    if (shard == 0 || shard > srv_->ds.opt().shards) return Done(ctx, InvalidShard());
    if (req->reverse()) return Done(ctx, Status(StatusCode::UNIMPLEMENTED, "scale mode: no reverse GetEvents"));
    const uint32_t page = req->page_size() ? req->page_size() : 1000;
    uint64_t lo = req->start_id();
    const uint64_t hi = req->has_stop_id() ? req->stop_id() : UINT64_MAX;
    if (!req->page_token().empty()) {
      auto token = ParseBe64(req->page_token());
      if (!token) return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "invalid page token"));
      lo = std::max(lo, *token);
    }
    std::vector<std::pair<ScaleRec, ScaleBlock>> picked;
    std::optional<uint64_t> next;
    {
      std::shared_lock<std::shared_mutex> l(srv_->mu);
      const ScaleLog& log = srv_->logs[shard - 1];
      uint64_t abs = log.LowerBound(lo);
      ScaleRec rec;
      ScaleBlock blk;
      for (; abs < log.end() && picked.size() < page; ++abs) {
        if (!srv_->EventAt(shard, abs, &rec, &blk) || rec.id >= hi) break;
        picked.emplace_back(rec, blk);
      }
      if (abs < log.end() && log.recs[abs - log.base].id < hi && picked.size() == page)
        next = log.recs[abs - log.base].id;
    }
    for (const auto& [rec, blk] : picked) resp->add_events()->ParseFromString(srv_->EventBytes(shard, rec, blk));
    if (next) resp->set_next_page_token(Be64(*next));
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetAllCastMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                              MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kCast, resp);
  }
  ServerUnaryReactor* GetAllReactionMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                  MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kReaction, resp);
  }
  ServerUnaryReactor* GetAllLinkMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                              MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kLink, resp);
  }
  ServerUnaryReactor* GetAllVerificationMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                      MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kVerification, resp);
  }
  ServerUnaryReactor* GetAllUserDataMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                  MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kUserData, resp);
  }
  ServerUnaryReactor* GetUserDataByFid(CallbackServerContext* ctx, const FidRequest* req,
                                       MessagesResponse* resp) override {
    return Page(ctx, req->fid(), Store::kUserData, req->page_size(), req->page_token(), req->reverse(), std::nullopt,
                std::nullopt, resp);
  }
  // Stores this dataset never fills: empty answers, as a node with nothing stored.
  ServerUnaryReactor* GetAllLendStorageMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest*,
                                                     MessagesResponse*) override {
    return Done(ctx, Status::OK);
  }
  ServerUnaryReactor* GetLinkCompactStateMessageByFid(CallbackServerContext* ctx, const FidRequest*,
                                                      MessagesResponse*) override {
    return Done(ctx, Status::OK);
  }
  ServerUnaryReactor* GetUserNameProofsByFid(CallbackServerContext* ctx, const FidRequest*,
                                             UsernameProofsResponse*) override {
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetOnChainSignersByFid(CallbackServerContext* ctx, const FidRequest* req,
                                             OnChainEventResponse* resp) override {
    if (!Known(req->fid())) return Done(ctx, Status::OK);
    resp->add_events()->ParseFromString(srv_->ds.OnchainBytes(static_cast<uint32_t>(req->fid()), 2));
    return Done(ctx, Status::OK);
  }
  ServerUnaryReactor* GetOnChainEvents(CallbackServerContext* ctx, const OnChainEventRequest* req,
                                       OnChainEventResponse* resp) override {
    if (!Known(req->fid())) return Done(ctx, Status::OK);
    for (uint32_t i = 0; i < kOnchainCount; ++i) {
      if (kOnchainTypes[i] == req->event_type())
        resp->add_events()->ParseFromString(srv_->ds.OnchainBytes(static_cast<uint32_t>(req->fid()), i));
    }
    return Done(ctx, Status::OK);
  }
  ServerUnaryReactor* GetIdRegistryOnChainEvent(CallbackServerContext* ctx, const FidRequest* req,
                                                OnChainEvent* resp) override {
    if (!Known(req->fid())) return Done(ctx, Status(StatusCode::NOT_FOUND, "no id registry event for fid"));
    resp->ParseFromString(srv_->ds.OnchainBytes(static_cast<uint32_t>(req->fid()), 0));
    return Done(ctx, Status::OK);
  }

 private:
  bool Known(uint64_t fid) const { return fid >= 1 && fid <= srv_->ds.fids(); }

  ServerUnaryReactor* AllByFid(CallbackServerContext* ctx, const FidTimestampRequest* req, Store s,
                               MessagesResponse* resp) {
    return Page(ctx, req->fid(), s, req->page_size(), req->page_token(), req->reverse(),
                req->has_start_timestamp() ? std::optional<uint64_t>(req->start_timestamp()) : std::nullopt,
                req->has_stop_timestamp() ? std::optional<uint64_t>(req->stop_timestamp()) : std::nullopt, resp);
  }

  // Pages a fid's held messages of one store in (timestamp, hash) order. The token is
  // the last message's timestamp (4 bytes BE) + hash; timestamps are unique per fid.
  ServerUnaryReactor* Page(CallbackServerContext* ctx, uint64_t fid64, Store s, uint32_t page_size,
                           const std::string& token, bool reverse, std::optional<uint64_t> start_ts,
                           std::optional<uint64_t> stop_ts, MessagesResponse* resp) {
    if (!token.empty() && token.size() != 24)
      return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "invalid page token"));
    if (reverse) return Done(ctx, Status(StatusCode::UNIMPLEMENTED, "scale mode: no reverse paging"));
    if (!Known(fid64)) return Done(ctx, Status::OK);
    const uint32_t fid = static_cast<uint32_t>(fid64);
    const ScaleDataset& ds = srv_->ds;
    auto held = srv_->HeldOf(fid);
    const std::vector<uint32_t>& list = held->by_store[static_cast<size_t>(s)];
    auto ts_of = [&](uint32_t e) { return uint64_t{ds.Ts(fid, e & 0x0fffffffu)}; };
    uint64_t after = 0;
    bool has_after = false;
    if (!token.empty()) {
      for (int i = 0; i < 4; ++i) after = (after << 8) | static_cast<unsigned char>(token[i]);
      has_after = true;
    }
    auto first_at_least = [&](uint64_t ts) {
      return std::partition_point(list.begin(), list.end(), [&](uint32_t e) { return ts_of(e) < ts; });
    };
    auto it = list.begin();
    if (start_ts) it = std::max(it, first_at_least(*start_ts));
    if (has_after) it = std::max(it, first_at_least(after + 1));
    auto end = stop_ts ? first_at_least(*stop_ts + 1) : list.end();
    if (page_size == 0) page_size = 10000;
    auto stop = it + std::min<ptrdiff_t>(std::max<ptrdiff_t>(0, end - it), page_size);
    uint32_t last = kNone;
    for (auto p = it; p < stop; ++p) {
      resp->add_messages()->ParseFromString(ds.MessageBytes(fid, *p & 0x0fffffffu, static_cast<K>(*p >> 28)));
      last = *p;
    }
    if (stop < end && last != kNone) {
      const Message& m = resp->messages(resp->messages_size() - 1);
      std::string t(4, '\0');
      const uint32_t ts = static_cast<uint32_t>(ts_of(last));
      for (int i = 0; i < 4; ++i) t[3 - i] = static_cast<char>(ts >> (8 * i));
      resp->set_next_page_token(t + m.hash());
    }
    return Done(ctx, Status::OK);
  }

  ScaleServer::Impl* srv_;
};

}  // namespace

// ---- ScaleServer ------------------------------------------------------------------------

ScaleServer::ScaleServer(const ScaleOptions& opt) : impl_(std::make_unique<Impl>(opt)) {
  impl_->WritePlan();
  impl_->InitGenerator();
}

ScaleServer::~ScaleServer() { Shutdown(); }

std::string ScaleServer::Describe() const {
  const ScaleDataset& ds = impl_->ds;
  std::ostringstream s;
  s << "scale dataset of " << ds.total() << " messages over " << ds.fids() << " fids (largest fid " << ds.max_count()
    << " messages), " << ds.opt().shards << " shards, blocks of " << impl_->block_secs << " s";
  return s.str();
}

int ScaleServer::Start(int port) {
  impl_->service = std::make_unique<ScaleService>(impl_.get());
  grpc::ServerBuilder b;
  int bound = 0;
  b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &bound);
  b.RegisterService(impl_->service.get());
  b.SetMaxSendMessageSize(256 << 20);
  impl_->server = b.BuildAndStart();
  if (!impl_->server) return 0;
  impl_->producer = std::thread([this] { impl_->ProducerLoop(); });
  return bound;
}

void ScaleServer::Shutdown() {
  if (!impl_) return;
  impl_->stop.store(true);
  if (impl_->producer.joinable()) impl_->producer.join();
  {
    std::lock_guard<std::mutex> l(impl_->subs_mu);
    if (impl_->stopping && !impl_->server) return;
    impl_->stopping = true;
    for (auto* s : impl_->subs) s->FinishOnce(Status(StatusCode::UNAVAILABLE, "test node shutting down"));
  }
  if (impl_->server) {
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    impl_->server->Wait();
    impl_->server.reset();
  }
}

}  // namespace waypoint::testnode
