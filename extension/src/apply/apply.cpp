// ApplyEntries: decoded stream entries -> one set-based upsert per table per batch.
//
// Order of statements (each sees the previous ones' rows):
//   1. waypoint.messages       every message seen, lifecycle tombstones merged (LEAST time);
//                              returns each message's resulting standing (RETURNING, and a
//                              read-back of the unchanged ones)
//   2. one table per store     per conflict key the highest alive candidate wins (else a
//                              dead one); the candidates' standing comes as parameters, the
//                              current winner's is read from waypoint.messages
//                              (sql/apply/<table>.sql, docs/apply-semantics.md)
//   3. username_proofs, onchain_events
// Repeated (key, hash) rows are dropped in C++; DISTINCT ON keeps one candidate per key
// (ON CONFLICT cannot touch a row twice in a statement).
#include "waypoint/ext/apply.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "waypoint/core/crdt.hpp"
#include "waypoint/core/decode.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/time.hpp"
#include "hub_event.pb.h"
#include "onchain_event.pb.h"
#include "waypoint/ext/spi.hpp"

namespace waypoint::ext {
namespace {

using pg::ArrayParam;
using pg::ParamType;
using pg::PreparedStatement;

// A message's standing after this batch's writes to waypoint.messages: whether it is
// dead, its latest merge event and its lifecycle times (docs/apply-semantics.md).
struct Standing {
  bool dead = false;
  std::optional<int64_t> merge_event, pruned_at, revoked_at, dropped_at;  // times: PostgreSQL timestamps
  std::optional<int64_t> death_event;
};
// Keyed by fid and hash, as waypoint.messages.
using StandingMap = std::map<std::pair<uint64_t, std::string>, Standing>;

// Columns of the standing as the messages statements return them.
std::vector<ArrayParam> StandingColumns() {
  return {ArrayParam(ParamType::kInt8),       ArrayParam(ParamType::kBytea),       ArrayParam(ParamType::kInt8),
          ArrayParam(ParamType::kInt8),       ArrayParam(ParamType::kTimestamptz), ArrayParam(ParamType::kTimestamptz),
          ArrayParam(ParamType::kTimestamptz)};
}
// (in StandingColumns' order)
#define WAYPOINT_STANDING_COLUMNS "m.fid, m.hash, m.merge_event, m.death_event, m.pruned_at, m.revoked_at, m.dropped_at"
constexpr const char* kStandingReturning = " RETURNING " WAYPOINT_STANDING_COLUMNS;

void AddStanding(StandingMap& map, const std::vector<ArrayParam>& cols) {
  auto opt = [](const ArrayParam& c, size_t i) {
    return c.null_at(i) ? std::nullopt : std::optional<int64_t>(c.int_at(i));
  };
  for (size_t i = 0; i < cols[0].size(); ++i) {
    Standing st;
    st.merge_event = opt(cols[2], i);
    st.death_event = opt(cols[3], i);
    st.dead = st.death_event.has_value() && *st.death_event >= st.merge_event.value_or(-1);
    st.pruned_at = opt(cols[4], i);
    st.revoked_at = opt(cols[5], i);
    st.dropped_at = opt(cols[6], i);
    map[{static_cast<uint64_t>(cols[0].int_at(i)), std::string(cols[1].str_at(i))}] = st;
  }
}

// The store upserts, one SQL file per store table (sql/apply/<table>.sql), embedded at
// build time (extension/Makefile) and prepared as they are.
const std::string& StoreSql(const std::string& table) {
  static const std::map<std::string, std::string> kSql = {
#include "store_sql.inc"
  };
  auto it = kSql.find(table);
  if (it == kSql.end()) throw std::logic_error("no sql/apply/" + table + ".sql");
  return it->second;
}

// The upsert of one store table (sql/apply/<table>.sql). Its parameters: fid,
// message_hash, ts, removed ($1..$4), the store's own columns (`typed`, $5..), then the
// candidate's standing (dead, merge_event, pruned_at, revoked_at, dropped_at: what
// waypoint.messages holds after this batch, passed in rather than joined, see
// WriteMessages). The rule is the file: DISTINCT ON keeps one candidate per key, the
// ON CONFLICT WHERE (which reads the current winner's standing) decides the replacement.
PreparedStatement StoreUpsert(const char* table, std::vector<ParamType> typed) {
  std::vector<ParamType> types = {ParamType::kInt8, ParamType::kBytea, ParamType::kInt8, ParamType::kBool};
  types.insert(types.end(), typed.begin(), typed.end());
  types.insert(types.end(), {ParamType::kBool, ParamType::kInt8, ParamType::kTimestamptz, ParamType::kTimestamptz,
                             ParamType::kTimestamptz});
  return PreparedStatement{table, StoreSql(table), types};
}

std::vector<ArrayParam> CandidateParams() {
  return {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea), ArrayParam(ParamType::kInt8),
          ArrayParam(ParamType::kBool)};
}

void AddCandidate(std::vector<ArrayParam>& p, const core::Candidate& c) {
  p[0].AddInt(static_cast<int64_t>(c.fid));
  p[1].AddStr(c.message_hash);
  p[2].AddInt(c.timestamp);
  p[3].AddBool(c.removed);
}

// A message this batch did not write and the database does not hold (it cannot happen:
// every candidate's message is written first) would count as alive with no merge event,
// as a missing row did in a join.
const Standing& StandingOf(const StandingMap& map, const core::Candidate& c) {
  static const Standing kUnknown;
  auto it = map.find({c.fid, c.message_hash});
  return it == map.end() ? kUnknown : it->second;
}

template <typename Row, typename Fill>
void Upsert(PreparedStatement& stmt, const StandingMap& standing, const std::vector<Row>& rows, Fill fill) {
  if (rows.empty()) return;
  std::vector<ArrayParam> p = CandidateParams();
  for (size_t i = 4; i < stmt.types.size(); ++i) p.emplace_back(stmt.types[i]);
  const size_t s0 = stmt.types.size() - 5;  // the standing columns come last
  for (const Row& r : rows) {
    AddCandidate(p, r.c);
    fill(p, r);
    const Standing& st = StandingOf(standing, r.c);
    p[s0].AddBool(st.dead);
    p[s0 + 1].AddOptInt(st.merge_event);
    p[s0 + 2].AddOptInt(st.pruned_at);
    p[s0 + 3].AddOptInt(st.revoked_at);
    p[s0 + 4].AddOptInt(st.dropped_at);
  }
  pg::ExecuteArrays(stmt, p);
}

// Writes the batch's messages and returns every one's standing after the write: the
// rows the upsert inserted or changed come back from RETURNING; the rest (already held,
// unchanged: replays) are read back, which in a first sync is almost never needed. The
// store upserts take the standing as parameters instead of joining waypoint.messages.
StandingMap WriteMessages(const std::vector<core::MessageRow>& rows) {
  // Tombstone times: earliest kept (history); event ids: latest kept (they decide life).
  static PreparedStatement stmt{
      "messages",
      "INSERT INTO waypoint.messages AS m (hash, fid, type, \"timestamp\", network, signer, raw, pruned_at, "
      "revoked_at, dropped_at, merge_event, death_event) "
      "SELECT u.hash, u.fid, u.type, waypoint.farcaster_time(u.ts), u.network, u.signer, u.raw, "
      "CASE WHEN u.pruned THEN u.at END, CASE WHEN u.revoked THEN u.at END, CASE WHEN u.dropped THEN u.at END, "
      "u.merge_event, u.death_event "
      "FROM (SELECT x.*, CASE WHEN x.ev = 0 THEN now() ELSE to_timestamp(x.ev) END AS at FROM (SELECT "
      "unnest($1::bytea[]) AS hash, unnest($2::bigint[]) AS fid, unnest($3::int[]) AS type, unnest($4::bigint[]) AS "
      "ts, unnest($5::int[]) AS network, unnest($6::bytea[]) AS signer, unnest($7::bytea[]) AS raw, "
      "unnest($8::boolean[]) AS pruned, unnest($9::boolean[]) AS revoked, unnest($10::boolean[]) AS dropped, "
      "unnest($11::bigint[]) AS ev, unnest($12::bigint[]) AS merge_event, unnest($13::bigint[]) AS death_event) AS x) "
      "u "
      "ON CONFLICT (fid, hash) DO UPDATE SET pruned_at = LEAST(m.pruned_at, excluded.pruned_at), "
      "revoked_at = LEAST(m.revoked_at, excluded.revoked_at), dropped_at = LEAST(m.dropped_at, excluded.dropped_at), "
      "merge_event = GREATEST(m.merge_event, excluded.merge_event), "
      "death_event = GREATEST(m.death_event, excluded.death_event) "
      "WHERE (excluded.pruned_at IS NOT NULL AND (m.pruned_at IS NULL OR excluded.pruned_at < m.pruned_at)) "
      "OR (excluded.revoked_at IS NOT NULL AND (m.revoked_at IS NULL OR excluded.revoked_at < m.revoked_at)) "
      "OR (excluded.dropped_at IS NOT NULL AND (m.dropped_at IS NULL OR excluded.dropped_at < m.dropped_at)) "
      "OR excluded.merge_event > coalesce(m.merge_event, -1) OR excluded.death_event > coalesce(m.death_event, -1)" +
          std::string(kStandingReturning),
      {ParamType::kBytea, ParamType::kInt8, ParamType::kInt4, ParamType::kInt8, ParamType::kInt4, ParamType::kBytea,
       ParamType::kBytea, ParamType::kBool, ParamType::kBool, ParamType::kBool, ParamType::kInt8, ParamType::kInt8,
       ParamType::kInt8}};
  static PreparedStatement read_back{
      "messages_standing",
      "SELECT " WAYPOINT_STANDING_COLUMNS
      " FROM unnest($1::bigint[], $2::bytea[]) AS u(fid, hash) JOIN waypoint.messages m ON m.fid = u.fid AND "
      "m.hash = u.hash",
      {ParamType::kInt8, ParamType::kBytea}};
  StandingMap standing;
  if (rows.empty()) return standing;
  std::vector<ArrayParam> p;
  for (ParamType t : stmt.types) p.emplace_back(t);
  for (const auto& m : rows) {
    p[0].AddStr(m.hash);
    p[1].AddInt(static_cast<int64_t>(m.fid));
    p[2].AddInt(m.type);
    p[3].AddInt(m.timestamp);
    p[4].AddInt(m.network);
    p[5].AddStr(m.signer);
    p[6].AddStr(m.raw);
    p[7].AddBool(m.pruned);
    p[8].AddBool(m.revoked);
    p[9].AddBool(m.dropped);
    p[10].AddInt(m.event_unix);
    p[11].AddOptInt(m.merge_event);
    p[12].AddOptInt(m.death_event);
  }
  std::vector<ArrayParam> out = StandingColumns();
  pg::ExecuteArrays(stmt, p, &out);
  AddStanding(standing, out);
  if (standing.size() < rows.size()) {
    std::vector<ArrayParam> k = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea)};
    for (const auto& m : rows)
      if (standing.find({m.fid, m.hash}) == standing.end()) {
        k[0].AddInt(static_cast<int64_t>(m.fid));
        k[1].AddStr(m.hash);
      }
    std::vector<ArrayParam> held = StandingColumns();
    pg::ExecuteArrays(read_back, k, &held);
    AddStanding(standing, held);
  }
  return standing;
}

void WriteStores(const core::RowSet& rs, StandingMap& standing) {
  // Typed columns as sql/apply/<table>.sql lists them.
  static PreparedStatement casts =
      StoreUpsert("casts", {ParamType::kBytea, ParamType::kText, ParamType::kInt8, ParamType::kBytea, ParamType::kText,
                            ParamType::kText, ParamType::kText, ParamType::kText, ParamType::kInt4, ParamType::kBool,
                            ParamType::kInt8, ParamType::kBytea, ParamType::kText});
  // A reply whose parent is added in this same batch cannot see the parent's row in the
  // upsert (one statement): it gets the parent's own parent from here, so its first
  // thread-root guess is right (sql/apply/casts.sql).
  std::unordered_map<std::string, const core::CastRow*> batch_adds;
  for (const core::CastRow& r : rs.casts)
    if (!r.c.removed && !StandingOf(standing, r.c).dead)
      batch_adds.emplace(std::to_string(r.c.fid) + ":" + r.cast_hash, &r);
  Upsert(casts, standing, rs.casts, [&batch_adds](std::vector<ArrayParam>& p, const core::CastRow& r) {
    p[4].AddStr(r.cast_hash);
    p[5].AddOptStr(r.text);
    p[6].AddOptInt(r.parent_fid);
    p[7].AddOptStr(r.parent_hash);
    p[8].AddOptStr(r.parent_url);
    p[9].AddOptStr(r.embeds_json);
    p[10].AddOptStr(r.mentions);
    p[11].AddOptStr(r.mentions_positions);
    p[12].AddOptInt(r.cast_type);
    const core::CastRow* parent = nullptr;
    if (r.parent_fid && r.parent_hash) {
      auto it = batch_adds.find(std::to_string(*r.parent_fid) + ":" + *r.parent_hash);
      if (it != batch_adds.end()) parent = it->second;
    }
    p[13].AddBool(parent != nullptr);
    p[14].AddOptInt(parent ? parent->parent_fid : std::nullopt);
    p[15].AddOptStr(parent ? parent->parent_hash : std::nullopt);
    p[16].AddOptStr(parent ? parent->parent_url : std::nullopt);
  });

  static PreparedStatement reactions = StoreUpsert(
      "reactions", {ParamType::kInt4, ParamType::kBytea, ParamType::kInt8, ParamType::kBytea, ParamType::kText});
  Upsert(reactions, standing, rs.reactions, [](std::vector<ArrayParam>& p, const core::ReactionRow& r) {
    p[4].AddInt(r.reaction_type);
    p[5].AddStr(r.target_key);
    p[6].AddOptInt(r.target_cast_fid);
    p[7].AddOptStr(r.target_cast_hash);
    p[8].AddOptStr(r.target_url);
  });

  static PreparedStatement links = StoreUpsert("links", {ParamType::kText, ParamType::kInt8, ParamType::kInt8});
  Upsert(links, standing, rs.links, [](std::vector<ArrayParam>& p, const core::LinkRow& r) {
    p[4].AddStr(r.link_type);
    p[5].AddInt(static_cast<int64_t>(r.target_fid));
    p[6].AddOptInt(r.display_timestamp);
  });

  static PreparedStatement lcs = StoreUpsert("link_compact_states", {ParamType::kText, ParamType::kText});
  // Every compact state ever merged compacted links on the node, winner or not: keep them
  // all (links_held reads this); event_id is the latest merge of each.
  static PreparedStatement lcs_history{
      "link_compact_state_history",
      "INSERT INTO waypoint.link_compact_state_history AS t (fid, link_type, message_hash, \"timestamp\", "
      "target_fids, event_id) SELECT u.fid, u.link_type, u.message_hash, waypoint.farcaster_time(u.ts), "
      "u.target_fids::bigint[], u.merge_event FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS "
      "message_hash, unnest($3::bigint[]) AS ts, unnest($4::text[]) AS link_type, unnest($5::text[]) AS target_fids, "
      "unnest($6::bigint[]) AS merge_event) AS u "
      "ON CONFLICT (fid, link_type, message_hash) DO UPDATE SET event_id = excluded.event_id "
      "WHERE excluded.event_id > coalesce(t.event_id, -1)",
      {ParamType::kInt8, ParamType::kBytea, ParamType::kInt8, ParamType::kText, ParamType::kText, ParamType::kInt8}};
  if (!rs.link_compact_states.empty()) {
    std::vector<ArrayParam> p;
    for (ParamType t : lcs_history.types) p.emplace_back(t);
    for (const auto& r : rs.link_compact_states) {
      p[0].AddInt(static_cast<int64_t>(r.c.fid));
      p[1].AddStr(r.c.message_hash);
      p[2].AddInt(r.c.timestamp);
      p[3].AddStr(r.link_type);
      p[4].AddStr(r.TargetFidsLiteral());
      p[5].AddOptInt(StandingOf(standing, r.c).merge_event);
    }
    pg::ExecuteArrays(lcs_history, p);
  }
  // The node sends no deleted_messages for compact-state merges (a real Snapchain rewrite),
  // so a compact state's merge is the implicit tombstone of every compact state of the same
  // (fid, link_type) merged before it: each one's death is the latest later merge, and it
  // counts as deleted (dropped_at) like a superseded message.
  static PreparedStatement lcs_superseded{
      "link_compact_state_superseded",
      "UPDATE waypoint.messages m SET death_event = s.later, dropped_at = coalesce(m.dropped_at, now()) FROM (SELECT "
      "h.fid, h.message_hash, (SELECT max(h2.event_id) "
      "FROM waypoint.link_compact_state_history h2 WHERE h2.fid = h.fid AND h2.link_type = h.link_type AND "
      "h2.event_id > h.event_id) AS later FROM waypoint.link_compact_state_history h JOIN (SELECT DISTINCT * FROM "
      "unnest($1::bigint[], $2::text[]) AS k(fid, link_type)) k ON h.fid = k.fid AND h.link_type = k.link_type "
      "WHERE h.event_id IS NOT NULL) s WHERE m.fid = s.fid AND m.hash = s.message_hash AND s.later IS NOT NULL AND "
      "(m.death_event IS NULL OR m.death_event < s.later)" +
          std::string(kStandingReturning),
      {ParamType::kInt8, ParamType::kText}};
  if (!rs.link_compact_states.empty()) {
    std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kText)};
    for (const auto& r : rs.link_compact_states) {
      p[0].AddInt(static_cast<int64_t>(r.c.fid));
      p[1].AddStr(r.link_type);
    }
    // The superseded compact states' new standing is what their store upsert must see.
    std::vector<ArrayParam> out = StandingColumns();
    pg::ExecuteArrays(lcs_superseded, p, &out);
    AddStanding(standing, out);
  }
  Upsert(lcs, standing, rs.link_compact_states, [](std::vector<ArrayParam>& p, const core::LinkCompactStateRow& r) {
    p[4].AddStr(r.link_type);
    p[5].AddStr(r.TargetFidsLiteral());
  });

  static PreparedStatement verifications = StoreUpsert(
      "verifications",
      {ParamType::kBytea, ParamType::kInt4, ParamType::kBytea, ParamType::kBytea, ParamType::kInt4, ParamType::kInt8});
  Upsert(verifications, standing, rs.verifications, [](std::vector<ArrayParam>& p, const core::VerificationRow& r) {
    p[4].AddStr(r.address);
    p[5].AddInt(r.protocol);
    p[6].AddOptStr(r.claim_signature);
    p[7].AddOptStr(r.block_hash);
    p[8].AddOptInt(r.verification_type);
    p[9].AddOptInt(r.chain_id);
  });

  static PreparedStatement user_data = StoreUpsert("user_data", {ParamType::kInt4, ParamType::kText});
  Upsert(user_data, standing, rs.user_data, [](std::vector<ArrayParam>& p, const core::UserDataRow& r) {
    p[4].AddInt(r.user_data_type);
    p[5].AddStr(r.value);
  });

  static PreparedStatement proofs_msg = StoreUpsert(
      "username_proof_messages",
      {ParamType::kText, ParamType::kInt8, ParamType::kInt8, ParamType::kBytea, ParamType::kBytea, ParamType::kInt4});
  Upsert(proofs_msg, standing, rs.username_proof_messages,
         [](std::vector<ArrayParam>& p, const core::UsernameProofMessageRow& r) {
           p[4].AddStr(r.name);
           p[5].AddInt(static_cast<int64_t>(r.proof_fid));
           p[6].AddInt(static_cast<int64_t>(r.proof_timestamp));
           p[7].AddStr(r.owner);
           p[8].AddStr(r.signature);
           p[9].AddInt(r.proof_type);
         });

  static PreparedStatement lend = StoreUpsert("lend_storage", {ParamType::kInt8, ParamType::kInt8, ParamType::kInt4});
  Upsert(lend, standing, rs.lend_storage, [](std::vector<ArrayParam>& p, const core::LendStorageRow& r) {
    p[4].AddInt(static_cast<int64_t>(r.to_fid));
    p[5].AddInt(static_cast<int64_t>(r.num_units));
    p[6].AddInt(r.unit_type);
  });

  static PreparedStatement app_keys = StoreUpsert(
      "app_keys", {ParamType::kBytea, ParamType::kInt4, ParamType::kText, ParamType::kInt8, ParamType::kInt8,
                   ParamType::kInt8, ParamType::kInt8, ParamType::kBytea, ParamType::kInt8, ParamType::kInt8});
  Upsert(app_keys, standing, rs.app_keys, [&standing](std::vector<ArrayParam>& p, const core::AppKeyRow& r) {
    p[4].AddStr(r.key);
    p[5].AddInt(static_cast<int64_t>(r.key_type));
    p[6].AddStr(r.scopes);
    p[7].AddInt(r.ttl);
    p[8].AddInt(r.nonce);
    p[9].AddInt(r.deadline);
    p[10].AddOptInt(r.request_fid);
    p[11].AddOptStr(r.remove_hash);
    p[12].AddOptInt(r.remove_ts);
    p[13].AddOptInt(StandingOf(standing, r.c).death_event);
  });
}

// App keys as the node's state lists them (entry kind "signer", from a backfill's
// GetSignersByFid pages): sql/apply/app_key_states.sql, after the batch's KEY_ADD
// messages. No message, so no standing: the user nonce orders them (the file says how).
void WriteAppKeyStates(const std::vector<core::AppKeyStateRow>& rows) {
  static PreparedStatement stmt{
      "app_key_states",
      StoreSql("app_key_states"),
      {ParamType::kInt8, ParamType::kBytea, ParamType::kInt4, ParamType::kText, ParamType::kInt8, ParamType::kInt8,
       ParamType::kInt8, ParamType::kInt8, ParamType::kInt8}};
  if (rows.empty()) return;
  std::vector<ArrayParam> p;
  for (ParamType t : stmt.types) p.emplace_back(t);
  for (const auto& r : rows) {
    p[0].AddInt(static_cast<int64_t>(r.fid));
    p[1].AddStr(r.key);
    p[2].AddInt(static_cast<int64_t>(r.key_type));
    p[3].AddStr(r.scopes);
    p[4].AddInt(r.ttl);
    p[5].AddInt(r.nonce);
    p[6].AddInt(static_cast<int64_t>(r.added_at));
    p[7].AddOptInt(r.request_fid);
    p[8].AddOptInt(r.last_used_at);
  }
  pg::ExecuteArrays(stmt, p);
}

// Channel slots (docs/apply-semantics.md, "Channels"): one upsert per slot table
// (sql/apply/channel_*.sql). Their parameters: channel_id, author fid, message_hash, ts,
// merge_event, then the table's own columns. The candidate's merge event is its own (the
// data-shard-1 event that merged it), not the standing in waypoint.messages: the newest
// merge holds a slot, nothing else decides.
PreparedStatement ChannelUpsert(const char* table, std::vector<ParamType> typed) {
  std::vector<ParamType> types = {ParamType::kBytea, ParamType::kInt8, ParamType::kBytea, ParamType::kInt8,
                                  ParamType::kInt8};
  types.insert(types.end(), typed.begin(), typed.end());
  return PreparedStatement{table, StoreSql(table), types};
}

template <typename Row, typename Fill>
void UpsertChannel(PreparedStatement& stmt, const std::vector<Row>& rows, Fill fill) {
  if (rows.empty()) return;
  std::vector<ArrayParam> p;
  for (ParamType t : stmt.types) p.emplace_back(t);
  for (const Row& r : rows) {
    p[0].AddStr(r.s.channel_id);
    p[1].AddInt(static_cast<int64_t>(r.s.author_fid));
    p[2].AddStr(r.s.message_hash);
    p[3].AddInt(r.s.timestamp);
    p[4].AddInt(r.s.merge_event);
    fill(p, r);
  }
  pg::ExecuteArrays(stmt, p);
}

void WriteChannels(const core::RowSet& rs) {
  static PreparedStatement metadata =
      ChannelUpsert("channel_metadata", {ParamType::kText, ParamType::kText, ParamType::kText, ParamType::kText,
                                         ParamType::kText, ParamType::kInt4, ParamType::kInt4});
  UpsertChannel(metadata, rs.channel_updates, [](std::vector<ArrayParam>& p, const core::ChannelUpdateRow& r) {
    p[5].AddOptStr(r.name);
    p[6].AddOptStr(r.description);
    p[7].AddOptStr(r.image_url);
    p[8].AddOptStr(r.header);
    p[9].AddOptStr(r.rules);
    p[10].AddInt(r.casting_mode);
    p[11].AddInt(r.membership_mode);
  });
  static PreparedStatement members = ChannelUpsert("channel_members", {ParamType::kInt8, ParamType::kInt4});
  UpsertChannel(members, rs.channel_members, [](std::vector<ArrayParam>& p, const core::ChannelMemberRow& r) {
    p[5].AddInt(static_cast<int64_t>(r.member_fid));
    p[6].AddInt(r.action);
  });
  static PreparedStatement pins = ChannelUpsert("channel_pins", {ParamType::kBytea});
  UpsertChannel(pins, rs.channel_pins,
                [](std::vector<ArrayParam>& p, const core::ChannelPinRow& r) { p[5].AddStr(r.cast_hash); });
  static PreparedStatement moderations = ChannelUpsert("channel_moderations", {ParamType::kBytea, ParamType::kInt4});
  UpsertChannel(moderations, rs.channel_moderations,
                [](std::vector<ArrayParam>& p, const core::ChannelModerationRow& r) {
                  p[5].AddStr(r.cast_hash);
                  p[6].AddInt(r.action);
                });
  static PreparedStatement registry{
      "channel_registry_events",
      StoreSql("channel_registry_events"),
      {ParamType::kBytea, ParamType::kInt8, ParamType::kBytea, ParamType::kInt4, ParamType::kText, ParamType::kBool,
       ParamType::kBytea, ParamType::kInt8, ParamType::kInt8, ParamType::kInt8, ParamType::kInt8}};
  if (!rs.channel_registry.empty()) {
    std::vector<ArrayParam> p;
    for (ParamType t : registry.types) p.emplace_back(t);
    for (const auto& r : rs.channel_registry) {
      p[0].AddStr(r.tx_hash);
      p[1].AddInt(r.log_index);
      p[2].AddStr(r.label);
      p[3].AddInt(r.event_type);
      p[4].AddStr(r.channel_key);
      p[5].AddBool(r.key_matches_label);
      p[6].AddStr(r.owner_address);
      p[7].AddInt(static_cast<int64_t>(r.expiry));
      p[8].AddInt(r.block_number);
      p[9].AddInt(r.tx_index);
      p[10].AddInt(static_cast<int64_t>(r.block_timestamp));
    }
    pg::ExecuteArrays(registry, p);
  }
}

// Backfill reads of channel state (entry kind channel_state): one call of
// waypoint.apply_channel_state per entry, after the batch's stream merges, in (channel,
// as_of) order (docs/apply-semantics.md, "Channel backfill").
void WriteChannelStates(std::vector<core::ChannelStateRow> rows) {
  if (rows.empty()) return;
  using T = ParamType;
  static PreparedStatement stmt{
      "apply_channel_state",
      "SELECT waypoint.apply_channel_state($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
      {T::kBytea, T::kInt8, T::kText, T::kText, T::kText, T::kText, T::kText, T::kInt4, T::kInt4, T::kBytea, T::kInt8,
       T::kInt8, T::kInt4, T::kBytea, T::kInt4, T::kInt8},
      {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}};
  std::stable_sort(rows.begin(), rows.end(), [](const core::ChannelStateRow& a, const core::ChannelStateRow& b) {
    return std::tie(a.channel_id, a.as_of) < std::tie(b.channel_id, b.as_of);
  });
  for (const auto& r : rows) {
    std::vector<ArrayParam> p;
    for (ParamType t : stmt.types) p.emplace_back(t);
    p[0].AddStr(r.channel_id);
    p[1].AddInt(r.as_of);
    p[2].AddOptStr(r.name);
    p[3].AddOptStr(r.description);
    p[4].AddOptStr(r.image_url);
    p[5].AddOptStr(r.header);
    p[6].AddOptStr(r.rules);
    p[7].AddInt(r.casting_mode);
    p[8].AddInt(r.membership_mode);
    if (r.pin_cast_hash.empty()) {
      p[9].AddNull();
      p[10].AddNull();
    } else {
      p[9].AddStr(r.pin_cast_hash);
      p[10].AddUint(r.pin_author_fid);
    }
    for (const auto& [fid, state] : r.members) {
      p[11].AddUint(fid);
      p[12].AddInt(state);
    }
    for (const auto& m : r.moderations) {
      p[13].AddStr(m.cast_hash);
      p[14].AddInt(m.action);
      p[15].AddUint(m.author_fid);
    }
    pg::ExecuteArrays(stmt, p);
  }
}

bool HasChannelRows(const core::RowSet& rs) {
  return !rs.channel_updates.empty() || !rs.channel_members.empty() || !rs.channel_pins.empty() ||
         !rs.channel_moderations.empty() || !rs.channel_registry.empty();
}

// Username proofs by name, with the rule of the store tables: each proof's standing
// (latest merge / deletion event ids, in username_proof_standing) decides whether it is
// alive; per name the highest alive proof by (timestamp, signature) wins, else a dead one
// (deleted = true). A re-merge after a deletion revives; a backfill page never does.
void WriteProofs(const std::vector<core::ProofRow>& rows) {
  static PreparedStatement standing{
      "username_proof_standing",
      "INSERT INTO waypoint.username_proof_standing AS t (name, \"timestamp\", signature, merge_event, death_event) "
      "SELECT u.name, to_timestamp(u.ts), u.signature, u.merge_event, u.death_event FROM (SELECT unnest($1::text[]) AS "
      "name, unnest($2::bigint[]) AS ts, unnest($3::bytea[]) AS signature, unnest($4::bigint[]) AS merge_event, "
      "unnest($5::bigint[]) AS death_event) AS u "
      "ON CONFLICT (name, \"timestamp\", signature) DO UPDATE SET "
      "merge_event = GREATEST(t.merge_event, excluded.merge_event), "
      "death_event = GREATEST(t.death_event, excluded.death_event) "
      "WHERE excluded.merge_event > coalesce(t.merge_event, -1) OR excluded.death_event > coalesce(t.death_event, -1)",
      {ParamType::kText, ParamType::kInt8, ParamType::kBytea, ParamType::kInt8, ParamType::kInt8}};
  static PreparedStatement stmt{
      "username_proofs",
      "INSERT INTO waypoint.username_proofs AS t (name, fid, owner, signature, \"timestamp\", proof_type, deleted, "
      "raw, updated_at, confirmed_seq) "
      "SELECT DISTINCT ON (u.name) u.name, u.fid, u.owner, u.signature, to_timestamp(u.ts), u.proof_type, d.dead, "
      "u.raw, now(), currval('waypoint.apply_seq') "
      "FROM (SELECT unnest($1::text[]) AS name, unnest($2::bigint[]) AS fid, unnest($3::bytea[]) AS owner, "
      "unnest($4::bytea[]) AS signature, unnest($5::bigint[]) AS ts, unnest($6::int[]) AS proof_type, "
      "unnest($7::bytea[]) AS raw) AS u "
      "LEFT JOIN waypoint.username_proof_standing s ON s.name = u.name AND s.\"timestamp\" = to_timestamp(u.ts) "
      "AND s.signature = u.signature CROSS JOIN LATERAL (SELECT coalesce(s.death_event >= coalesce(s.merge_event, "
      "-1), false) AS dead) d ORDER BY u.name, d.dead, u.ts DESC, u.signature DESC "
      "ON CONFLICT (name) DO UPDATE SET fid = excluded.fid, owner = excluded.owner, signature = excluded.signature, "
      "\"timestamp\" = excluded.\"timestamp\", proof_type = excluded.proof_type, raw = excluded.raw, "
      "deleted = excluded.deleted, confirmed_seq = excluded.confirmed_seq, reconciled_at = NULL, "
      "updated_at = CASE WHEN (excluded.\"timestamp\", excluded.signature) <> (t.\"timestamp\", t.signature) "
      "OR excluded.deleted <> t.deleted OR t.reconciled_at IS NOT NULL THEN excluded.updated_at "
      "ELSE t.updated_at END "
      // The same proof refreshes; otherwise alive beats dead (a reconciled row is dead),
      // then (timestamp, signature). The current proof's standing is read fresh.
      "WHERE (excluded.\"timestamp\", excluded.signature) = (t.\"timestamp\", t.signature) OR coalesce(("
      "SELECT CASE WHEN NOT excluded.deleted <> NOT (coalesce(so.death_event >= coalesce(so.merge_event, -1), false) "
      "OR t.reconciled_at IS NOT NULL) THEN NOT excluded.deleted ELSE (excluded.\"timestamp\", excluded.signature) > "
      "(t.\"timestamp\", t.signature) END FROM waypoint.username_proof_standing so WHERE so.name = t.name AND "
      "so.\"timestamp\" = t.\"timestamp\" AND so.signature = t.signature), (excluded.\"timestamp\", "
      "excluded.signature) > (t.\"timestamp\", t.signature))",
      {ParamType::kText, ParamType::kInt8, ParamType::kBytea, ParamType::kBytea, ParamType::kInt8, ParamType::kInt4,
       ParamType::kBytea}};
  if (rows.empty()) return;
  std::vector<ArrayParam> a;
  for (ParamType t : standing.types) a.emplace_back(t);
  for (const auto& r : rows) {
    a[0].AddStr(r.name);
    a[1].AddInt(static_cast<int64_t>(r.timestamp));
    a[2].AddStr(r.signature);
    a[3].AddOptInt(r.merge_event);
    // Carried as deleted without an event id: a tombstone at 0 (final unless re-merged).
    a[4].AddOptInt(r.death_event ? r.death_event : (r.deleted ? std::optional<int64_t>(0) : std::nullopt));
  }
  pg::ExecuteArrays(standing, a);
  std::vector<ArrayParam> p;
  for (ParamType t : stmt.types) p.emplace_back(t);
  for (const auto& r : rows) {
    p[0].AddStr(r.name);
    p[1].AddInt(static_cast<int64_t>(r.fid));
    p[2].AddStr(r.owner);
    p[3].AddStr(r.signature);
    p[4].AddInt(static_cast<int64_t>(r.timestamp));
    p[5].AddInt(r.proof_type);
    p[6].AddStr(r.raw);
  }
  pg::ExecuteArrays(stmt, p);
}

void WriteOnChain(const std::vector<core::OnChainRow>& rows) {
  static PreparedStatement stmt{
      "onchain_events",
      "INSERT INTO waypoint.onchain_events (transaction_hash, log_index, type, chain_id, block_number, block_hash, "
      "block_timestamp, tx_index, fid, version, signer_key, signer_key_type, signer_event_type, signer_metadata, "
      "signer_metadata_type, migrated_at, id_to, id_event_type, id_from, id_recovery, rent_payer, rent_units, "
      "rent_expiry, tier_type, tier_for_days, tier_payer, channel_key, raw) "
      "SELECT u.tx, u.li, u.type, u.chain_id, u.block_number, u.block_hash, to_timestamp(u.bts), u.tx_index, u.fid, "
      "u.version, u.signer_key, u.signer_key_type, u.signer_event_type, u.signer_metadata, u.signer_metadata_type, "
      "to_timestamp(u.migrated_at), u.id_to, u.id_event_type, u.id_from, u.id_recovery, u.rent_payer, u.rent_units, "
      "to_timestamp(u.rent_expiry), u.tier_type, u.tier_for_days, u.tier_payer, u.channel_key, u.raw "
      "FROM (SELECT unnest($1::bytea[]) AS tx, unnest($2::bigint[]) AS li, unnest($3::int[]) AS type, "
      "unnest($4::bigint[]) AS chain_id, unnest($5::bigint[]) AS block_number, unnest($6::bytea[]) AS block_hash, "
      "unnest($7::bigint[]) AS bts, unnest($8::bigint[]) AS tx_index, unnest($9::bigint[]) AS fid, unnest($10::int[]) "
      "AS version, unnest($11::bytea[]) AS signer_key, unnest($12::bigint[]) AS signer_key_type, unnest($13::int[]) AS "
      "signer_event_type, unnest($14::bytea[]) AS signer_metadata, unnest($15::bigint[]) AS signer_metadata_type, "
      "unnest($16::bigint[]) AS migrated_at, unnest($17::bytea[]) AS id_to, unnest($18::int[]) AS id_event_type, "
      "unnest($19::bytea[]) AS id_from, unnest($20::bytea[]) AS id_recovery, unnest($21::bytea[]) AS rent_payer, "
      "unnest($22::bigint[]) AS rent_units, unnest($23::bigint[]) AS rent_expiry, unnest($24::int[]) AS tier_type, "
      "unnest($25::bigint[]) AS tier_for_days, unnest($26::bytea[]) AS tier_payer, unnest($27::text[]) AS channel_key, "
      "unnest($28::bytea[]) AS raw) AS u "
      "ON CONFLICT (fid, transaction_hash, log_index) DO NOTHING",
      {ParamType::kBytea, ParamType::kInt8,  ParamType::kInt4,  ParamType::kInt8, ParamType::kInt8,  ParamType::kBytea,
       ParamType::kInt8,  ParamType::kInt8,  ParamType::kInt8,  ParamType::kInt4, ParamType::kBytea, ParamType::kInt8,
       ParamType::kInt4,  ParamType::kBytea, ParamType::kInt8,  ParamType::kInt8, ParamType::kBytea, ParamType::kInt4,
       ParamType::kBytea, ParamType::kBytea, ParamType::kBytea, ParamType::kInt8, ParamType::kInt8,  ParamType::kInt4,
       ParamType::kInt8,  ParamType::kBytea, ParamType::kText,  ParamType::kBytea}};
  if (rows.empty()) return;
  std::vector<ArrayParam> p;
  for (ParamType t : stmt.types) p.emplace_back(t);
  for (const auto& r : rows) {
    p[0].AddStr(r.tx_hash);
    p[1].AddInt(r.log_index);
    p[2].AddInt(r.type);
    p[3].AddInt(r.chain_id);
    p[4].AddInt(r.block_number);
    p[5].AddStr(r.block_hash);
    p[6].AddInt(static_cast<int64_t>(r.block_timestamp));
    p[7].AddInt(r.tx_index);
    p[8].AddInt(static_cast<int64_t>(r.fid));
    p[9].AddInt(r.version);
    p[10].AddOptStr(r.signer_key);
    p[11].AddOptInt(r.signer_key_type);
    p[12].AddOptInt(r.signer_event_type);
    p[13].AddOptStr(r.signer_metadata);
    p[14].AddOptInt(r.signer_metadata_type);
    p[15].AddOptInt(r.migrated_at);
    p[16].AddOptStr(r.id_to);
    p[17].AddOptInt(r.id_event_type);
    p[18].AddOptStr(r.id_from);
    p[19].AddOptStr(r.id_recovery);
    p[20].AddOptStr(r.rent_payer);
    p[21].AddOptInt(r.rent_units);
    p[22].AddOptInt(r.rent_expiry);
    p[23].AddOptInt(r.tier_type);
    p[24].AddOptInt(r.tier_for_days);
    p[25].AddOptStr(r.tier_payer);
    p[26].AddOptStr(r.channel_key);
    p[27].AddStr(r.raw);
  }
  pg::ExecuteArrays(stmt, p);
}

// Backfill markers of one batch, in stream order (see Reconcile).
struct Markers {
  struct Start {
    int64_t job;
    uint64_t fid;
    std::string stores;  // Postgres array literal
    uint64_t fids_total;
  };
  struct Done {
    int64_t job;
    uint64_t fid;
    bool in_batch;       // a fid_start of the same (job, fid) came earlier in this batch
    std::string stores;  // that start's stores, when in_batch
  };
  std::vector<Start> starts;  // latest per (job, fid)
  std::vector<Done> dones;    // latest per (job, fid)
  bool Empty() const { return starts.empty() && dones.empty(); }
};

// The entry's job id by core's rule (core::ParseJobId); 0 when absent or malformed.
int64_t JobId(const std::string& job) {
  try {
    return core::ParseJobId(job);
  } catch (const core::Error&) {
    return 0;
  }
}

std::string StoresLiteral(const std::vector<std::string>& names) {
  std::string s = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ',';
    s += '"';
    for (char c : names[i]) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  return s + "}";
}

// Reads the markers of a batch. Invalid ones get applied=false (the worker dead-letters
// them); a fid_done without a job id (the SQL test surface) is accepted and does nothing.
Markers CollectMarkers(const std::vector<core::StreamEntry>& entries, std::vector<EntryOutcome>& outcomes) {
  Markers m;
  std::map<std::pair<int64_t, uint64_t>, size_t> start_at, done_at;
  for (size_t i = 0; i < entries.size(); ++i) {
    const core::StreamEntry& e = entries[i];
    if (e.kind != core::EntryKind::kFidStart && e.kind != core::EntryKind::kFidDone) continue;
    const int64_t job = JobId(e.job_id);
    try {
      if (e.kind == core::EntryKind::kFidStart) {
        const core::FidStart fs = core::ParseFidStart(e.payload);
        if (job == 0 || e.fid == 0) throw core::Error(core::ErrorClass::kInvalid, "fid_start needs a job id and a fid");
        const auto key = std::make_pair(job, e.fid);
        Markers::Start st{job, e.fid, StoresLiteral(fs.types), fs.fids_total};
        auto [it, inserted] = start_at.emplace(key, m.starts.size());
        if (inserted)
          m.starts.push_back(st);
        else
          m.starts[it->second] = st;
      } else {
        if (job == 0 || e.fid == 0) continue;  // not from a backfill job: nothing to reconcile
        if (!core::FidDoneOk(e.payload)) continue;
        const auto key = std::make_pair(job, e.fid);
        auto st = start_at.find(key);
        Markers::Done d{job, e.fid, st != start_at.end(), st != start_at.end() ? m.starts[st->second].stores : ""};
        auto [it, inserted] = done_at.emplace(key, m.dones.size());
        if (inserted)
          m.dones.push_back(d);
        else
          m.dones[it->second] = d;
      }
    } catch (const core::Error& err) {
      outcomes[i].applied = false;
      outcomes[i].reason = std::string(core::ErrorClassName(err.cls())) + ": " + err.what();
    }
  }
  return m;
}

// Reconcile runs after the batch's rows are written. For each fid_done with status ok:
// every row of the fid in the backfilled stores whose confirmed_seq is older than the
// sequence at the fid's fid_start was offered neither by the pages nor by any later live
// entry, so the node no longer holds it: its winner is marked gone (dropped_at,
// dropped_reason 'reconciled'; username proofs: reconciled_at). Keyed by the store keys
// and the winner, never by hash alone: a later, higher message reopens the key.
// Then the batch's fid_starts are recorded (after: a fid_done earlier in the batch
// belongs to the previous start).
void Reconcile(const Markers& mk) {
  static const char* kStores[][2] = {{"casts", "cast"},
                                     {"reactions", "reaction"},
                                     {"links", "link"},
                                     {"link_compact_states", "link_compact_state"},
                                     {"verifications", "verification"},
                                     {"user_data", "user_data"},
                                     {"lend_storage", "lend_storage"}};
  static PreparedStatement reconcile = [] {
    std::string sql =
        "WITH d AS (SELECT u.job, u.fid, "
        "CASE WHEN u.in_batch THEN currval('waypoint.apply_seq') ELSE s.start_seq END AS start, "
        "CASE WHEN u.in_batch THEN u.stores::text[] ELSE s.stores END AS stores "
        "FROM (SELECT unnest($1::bigint[]) AS job, unnest($2::bigint[]) AS fid, unnest($3::boolean[]) AS in_batch, "
        "unnest($4::text[]) AS stores) AS u "
        "LEFT JOIN waypoint.backfill_fid_starts s ON s.job_id = u.job AND s.fid = u.fid), "
        "r AS (SELECT * FROM d WHERE start IS NOT NULL)";
    std::string all;
    int n = 0;
    for (const auto& st : kStores) {
      const std::string cte = "c" + std::to_string(n++);
      const bool is_casts = std::string_view(st[0]) == "casts";
      sql += std::string(", ") + cte + " AS (UPDATE waypoint." + st[0] +
             " t SET dropped_at = now(), dropped_reason = 'reconciled', updated_at = now() FROM r "
             "WHERE t.fid = r.fid AND t.confirmed_seq < r.start AND t.dropped_at IS NULL AND t.pruned_at IS NULL "
             "AND t.revoked_at IS NULL AND (coalesce(cardinality(r.stores), 0) = 0 OR '" +
             st[1] + "' = ANY (r.stores)) RETURNING r.job, r.fid" + (is_casts ? ", t.hash" : "") + ")";
      // A cast gone from the node may end the threads through it: queue it for the resolver.
      if (is_casts)
        sql +=
            ", " + cte + "q AS (INSERT INTO waypoint.cast_thread_queue (fid, hash) SELECT fid, hash FROM " + cte + ")";
      all += (all.empty() ? "" : " UNION ALL ") + std::string("SELECT job, fid FROM ") + cte;
    }
    // Proofs: only names whose current holder in the database is this fid.
    sql +=
        ", p AS (UPDATE waypoint.username_proofs t SET reconciled_at = now(), updated_at = now() FROM r "
        "WHERE t.fid = r.fid AND t.confirmed_seq < r.start AND NOT t.deleted AND t.reconciled_at IS NULL "
        "AND (coalesce(cardinality(r.stores), 0) = 0 OR r.stores && ARRAY['username_proof', 'fname']) "
        "RETURNING r.job, r.fid)";
    all += " UNION ALL SELECT * FROM p";
    // App keys: only when the start names them (a sidecar that read the fid's signers
    // says so; "every store" from an older one does not include them). A key the node
    // no longer lists is removed, as by a KEY_REMOVE the mirror did not see.
    sql +=
        ", k AS (UPDATE waypoint.app_keys t SET removed = true, remove_event = NULL, dropped_at = now(), "
        "dropped_reason = 'reconciled', updated_at = now() FROM r "
        "WHERE t.fid = r.fid AND t.confirmed_seq < r.start AND NOT t.removed AND 'app_key' = ANY (r.stores) "
        "RETURNING r.job, r.fid)";
    all += " UNION ALL SELECT * FROM k";
    sql += ", n AS (SELECT job, fid, count(*) AS rows FROM (" + all +
           ") x GROUP BY job, fid) "
           "INSERT INTO waypoint.backfill_fid_starts AS s (job_id, fid, start_seq, stores, reconciled_at, "
           "reconciled_rows) SELECT r.job, r.fid, r.start, r.stores, now(), coalesce(n.rows, 0) "
           "FROM r LEFT JOIN n ON n.job = r.job AND n.fid = r.fid "
           "ON CONFLICT (job_id, fid) DO UPDATE SET reconciled_at = excluded.reconciled_at, "
           "reconciled_rows = excluded.reconciled_rows";
    return PreparedStatement{
        "reconcile", sql, {ParamType::kInt8, ParamType::kInt8, ParamType::kBool, ParamType::kText}};
  }();
  static PreparedStatement starts{
      "backfill_fid_starts",
      "INSERT INTO waypoint.backfill_fid_starts AS s (job_id, fid, start_seq, stores, fids_total, started_at) "
      "SELECT u.job, u.fid, currval('waypoint.apply_seq'), u.stores::text[], nullif(u.total, 0), now() "
      "FROM (SELECT unnest($1::bigint[]) AS job, unnest($2::bigint[]) AS fid, unnest($3::text[]) AS stores, "
      "unnest($4::bigint[]) AS total) AS u "
      "ON CONFLICT (job_id, fid) DO UPDATE SET start_seq = greatest(s.start_seq, excluded.start_seq), "
      "stores = excluded.stores, fids_total = coalesce(excluded.fids_total, s.fids_total), "
      "started_at = excluded.started_at",
      {ParamType::kInt8, ParamType::kInt8, ParamType::kText, ParamType::kInt8}};
  if (!mk.dones.empty()) {
    std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kInt8),
                                 ArrayParam(ParamType::kBool), ArrayParam(ParamType::kText)};
    for (const auto& d : mk.dones) {
      p[0].AddInt(d.job);
      p[1].AddInt(static_cast<int64_t>(d.fid));
      p[2].AddBool(d.in_batch);
      d.in_batch ? p[3].AddStr(d.stores) : p[3].AddNull();
    }
    pg::ExecuteArrays(reconcile, p);
  }
  if (!mk.starts.empty()) {
    std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kInt8),
                                 ArrayParam(ParamType::kText), ArrayParam(ParamType::kInt8)};
    for (const auto& st : mk.starts) {
      p[0].AddInt(st.job);
      p[1].AddInt(static_cast<int64_t>(st.fid));
      p[2].AddStr(st.stores);
      p[3].AddInt(static_cast<int64_t>(st.fids_total));
    }
    pg::ExecuteArrays(starts, p);
  }
}

// ---- level full: a message waits until its signer is a key of its fid ------------------
// (docs/verification.md). A key is known once an on-chain key-registry add for it is in
// waypoint.onchain_events; an entry whose messages are signed by an unknown key goes to
// waypoint.held_messages whole, and is applied when that key's add is. A message signed
// after its key's removal (remove or admin reset) is applied dead, as revoked, and a
// removal revokes the messages its key signed after it: either order ends the same.

using SignerKey = std::pair<uint64_t, std::string>;  // (fid, Ed25519 public key)
using Removals = std::map<SignerKey, int64_t>;       // key -> earliest removal, Unix seconds

// Death event of those revocations: after every real event, so nothing revives them.
constexpr uint64_t kAfterEveryEvent = uint64_t{1} << 62;

bool IsSignerEvent(const core::OnChainRow& r) { return r.type == EVENT_TYPE_SIGNER && r.signer_key.has_value(); }
bool IsRemoval(const core::OnChainRow& r) {
  return r.signer_event_type == SIGNER_EVENT_TYPE_REMOVE || r.signer_event_type == SIGNER_EVENT_TYPE_ADMIN_RESET;
}

// The keys added by the on-chain events of this batch.
std::set<SignerKey> SignerAdds(const std::vector<core::OnChainRow>& rows) {
  std::set<SignerKey> out;
  for (const auto& r : rows)
    if (IsSignerEvent(r) && r.signer_event_type == SIGNER_EVENT_TYPE_ADD) out.insert({r.fid, *r.signer_key});
  return out;
}

void KeepEarliest(Removals* removals, const SignerKey& k, int64_t t) {
  auto [it, added] = removals->emplace(k, t);
  if (!added && t < it->second) it->second = t;
}

void AddRemovals(const std::vector<core::OnChainRow>& rows, Removals* out) {
  for (const auto& r : rows)
    if (IsSignerEvent(r) && IsRemoval(r))
      KeepEarliest(out, {r.fid, *r.signer_key}, static_cast<int64_t>(r.block_timestamp));
}

// Which of `wanted` the mirror already knows as keys, and their earliest removal if any.
void KnownSigners(const std::set<SignerKey>& wanted, std::set<SignerKey>* known, Removals* removals) {
  static PreparedStatement stmt{
      "known_signers",
      "SELECT k.fid, k.key, (SELECT extract(epoch FROM min(r.block_timestamp))::bigint "
      "FROM waypoint.onchain_events AS r WHERE r.fid = k.fid AND r.type = 1 AND r.signer_event_type IN (2, 3) "
      "AND r.signer_key = k.key) FROM unnest($1::bigint[], $2::bytea[]) AS k(fid, key) "
      "WHERE EXISTS (SELECT 1 FROM waypoint.onchain_events AS o WHERE o.fid = k.fid AND o.type = 1 "
      "AND o.signer_event_type = 1 AND o.signer_key = k.key)",
      {ParamType::kInt8, ParamType::kBytea}};
  if (wanted.empty()) return;
  std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea)};
  for (const auto& [fid, key] : wanted) {
    p[0].AddInt(static_cast<int64_t>(fid));
    p[1].AddStr(key);
  }
  std::vector<ArrayParam> rows = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea),
                                  ArrayParam(ParamType::kInt8)};
  pg::ExecuteArrays(stmt, p, &rows);
  for (size_t i = 0; i < rows[0].size(); ++i) {
    const SignerKey k{static_cast<uint64_t>(rows[0].int_at(i)), std::string(rows[1].str_at(i))};
    known->insert(k);
    if (!rows[2].null_at(i)) KeepEarliest(removals, k, rows[2].int_at(i));
  }
}

// Messages an entry would make live (not the ones it prunes, revokes or reports deleted).
// KEY_ADD and KEY_REMOVE are not judged: the node does not check their envelope signer
// against the fid's keys (docs/channels-and-keys.md, 3.3).
bool Judged(const core::MessageRow& m) {
  return !m.pruned && !m.revoked && !m.dropped && m.type != MESSAGE_TYPE_KEY_ADD && m.type != MESSAGE_TYPE_KEY_REMOVE;
}

// Channel messages are never revoked: the node leaves its channel stores out of every
// revoke, and a slot has no earlier holder to fall back to (docs/verification.md).
bool Revocable(const core::MessageRow& m) { return !core::IsChannelType(m.type); }

// Signed after the key's removal (message time after the removal's block time).
bool SignedAfterRemoval(const core::MessageRow& m, const Removals& removals) {
  auto it = removals.find({m.fid, m.signer});
  return it != removals.end() && core::FarcasterToUnix(m.timestamp) > it->second;
}

// App keys (KEY_ADD): a key may sign the message types of its scopes, and once removed only
// messages timestamped up to its KEY_REMOVE. Judged against the key's row in
// waypoint.app_keys, which the batch's key messages were applied to first (ApplyEntries);
// the TTL is not tracked (docs/verification.md).
struct AppKeyGrant {
  std::set<int32_t> scopes;
  std::optional<uint32_t> until;  // Farcaster seconds of its KEY_REMOVE
};
using AppKeyGrants = std::multimap<SignerKey, AppKeyGrant>;

std::set<int32_t> ParseScopes(std::string_view literal) {  // "{1,2,3}"
  std::set<int32_t> out;
  int32_t v = 0;
  bool digits = false;
  for (char c : literal) {
    if (c >= '0' && c <= '9') {
      v = v * 10 + (c - '0');
      digits = true;
    } else {
      if (digits) out.insert(v);
      v = 0;
      digits = false;
    }
  }
  return out;
}

bool AppKeyAdmits(const AppKeyGrants& grants, const core::MessageRow& m) {
  auto [from, to] = grants.equal_range({m.fid, m.signer});
  for (auto it = from; it != to; ++it)
    if (it->second.scopes.count(m.type) && (!it->second.until || m.timestamp <= *it->second.until)) return true;
  return false;
}

// A key removed at an unknown time (a backfill's reconciliation: no KEY_REMOVE seen) grants
// nothing: what it signed waits until the key is known again.
void KnownAppKeys(const std::set<SignerKey>& wanted, AppKeyGrants* grants) {
  static PreparedStatement stmt{
      "known_app_keys",
      "SELECT a.fid, a.key, a.scopes::text, CASE WHEN a.removed THEN (extract(epoch FROM a.removed_at) - "
      "1609459200)::bigint END FROM unnest($1::bigint[], $2::bytea[]) AS k(fid, key) "
      "JOIN waypoint.app_keys AS a ON a.fid = k.fid AND a.key = k.key "
      "WHERE NOT (a.removed AND a.removed_at IS NULL)",
      {ParamType::kInt8, ParamType::kBytea}};
  if (wanted.empty()) return;
  std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea)};
  for (const auto& [fid, key] : wanted) {
    p[0].AddInt(static_cast<int64_t>(fid));
    p[1].AddStr(key);
  }
  std::vector<ArrayParam> rows = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea),
                                  ArrayParam(ParamType::kText), ArrayParam(ParamType::kInt8)};
  pg::ExecuteArrays(stmt, p, &rows);
  for (size_t i = 0; i < rows[0].size(); ++i) {
    AppKeyGrant g{ParseScopes(rows[2].str_at(i)), std::nullopt};
    if (!rows[3].null_at(i)) g.until = static_cast<uint32_t>(rows[3].int_at(i));
    grants->emplace(SignerKey{static_cast<uint64_t>(rows[0].int_at(i)), std::string(rows[1].str_at(i))}, std::move(g));
  }
}

// A REVOKE_MESSAGE event for a message, later than every real event.
core::StreamEntry RevocationOf(uint64_t fid, const std::string& message_bytes) {
  HubEvent e;
  e.set_type(HUB_EVENT_TYPE_REVOKE_MESSAGE);
  e.set_id(kAfterEveryEvent);
  if (!e.mutable_revoke_message_body()->mutable_message()->ParseFromString(message_bytes))
    throw std::runtime_error("stored message of fid " + std::to_string(fid) + " does not decode");
  core::StreamEntry s;
  s.kind = core::EntryKind::kHubEvent;
  s.event_id = kAfterEveryEvent;
  s.fid = fid;
  s.payload = e.SerializeAsString();
  return s;
}

// Judges the signers of the entries written at level full. Entries with a message by an
// unknown key go to waypoint.held_messages (their rows are cleared, their outcome says
// why); messages signed after their key's removal are returned, to be revoked once applied.
std::vector<core::StreamEntry> JudgeSigners(const std::vector<core::StreamEntry>& entries,
                                            std::vector<core::RowSet>& decoded, std::vector<EntryOutcome>& outcomes) {
  static PreparedStatement hold{
      "hold_messages",
      "INSERT INTO waypoint.held_messages (fid, hash, signer, kind, payload, shard, event_id, source, job_id) "
      "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::bytea[], $6::int[], "
      "$7::bigint[], $8::text[], $9::text[]) ON CONFLICT (fid, hash) DO NOTHING",
      {ParamType::kInt8, ParamType::kBytea, ParamType::kBytea, ParamType::kText, ParamType::kBytea, ParamType::kInt4,
       ParamType::kInt8, ParamType::kText, ParamType::kText}};
  std::set<SignerKey> wanted;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].check_signer && outcomes[i].applied)
      for (const auto& m : decoded[i].messages)
        if (Judged(m)) wanted.insert({m.fid, m.signer});
  std::vector<core::StreamEntry> revoke;
  if (wanted.empty()) return revoke;
  std::set<SignerKey> known;
  Removals removals;
  AppKeyGrants grants;
  for (const auto& d : decoded) {
    for (const auto& k : SignerAdds(d.onchain)) known.insert(k);
    AddRemovals(d.onchain, &removals);
  }
  std::set<SignerKey> ask;
  for (const auto& k : wanted)
    if (!known.count(k) || removals.count(k) == 0) ask.insert(k);
  KnownSigners(ask, &known, &removals);
  std::set<SignerKey> ask_app;
  for (const auto& k : wanted)
    if (!known.count(k)) ask_app.insert(k);
  KnownAppKeys(ask_app, &grants);
  // An app key's grant beats an on-chain removal of the same key (the node looks at both).
  auto admitted = [&](const core::MessageRow& m) { return AppKeyAdmits(grants, m); };

  std::vector<ArrayParam> p;
  for (ParamType t : hold.types) p.emplace_back(t);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].check_signer || !outcomes[i].applied) continue;
    const core::MessageRow* unknown = nullptr;
    for (const auto& m : decoded[i].messages)
      if (Judged(m) && !known.count({m.fid, m.signer}) && !admitted(m)) unknown = &m;
    if (unknown == nullptr) {
      for (const auto& m : decoded[i].messages)
        if (Judged(m) && Revocable(m) && SignedAfterRemoval(m, removals) && !admitted(m))
          revoke.push_back(RevocationOf(m.fid, m.raw));
      continue;
    }
    const core::StreamEntry& e = entries[i];
    p[0].AddInt(static_cast<int64_t>(unknown->fid));
    p[1].AddStr(unknown->hash);
    p[2].AddStr(unknown->signer);
    p[3].AddStr(core::EntryKindName(e.kind));
    p[4].AddStr(e.payload);
    p[5].AddInt(e.shard);
    p[6].AddInt(static_cast<int64_t>(e.event_id));
    p[7].AddStr(core::EntrySourceName(e.source));
    p[8].AddStr(e.job_id);
    outcomes[i].reason = "held: signer " + core::ToHex(unknown->signer) + " is not a key of fid " +
                         std::to_string(unknown->fid) + " (yet)";
    decoded[i] = core::RowSet{};
  }
  if (p[0].size() > 0) pg::ExecuteArrays(hold, p);
  return revoke;
}

// The messages already in the mirror that the key removals of this batch's level-full
// entries make invalid: signed by the removed key after the removal.
std::vector<core::StreamEntry> SignedAfterRemovals(const std::vector<core::StreamEntry>& entries,
                                                   const std::vector<core::RowSet>& decoded) {
  static PreparedStatement stmt{
      "signed_after_removal",
      "SELECT m.fid, m.raw FROM (SELECT unnest($1::bigint[]) AS fid, unnest($2::bytea[]) AS key, unnest($3::bigint[]) "
      "AS removed, unnest($4::bigint[]) AS revoked_event) AS k "
      "JOIN waypoint.messages AS m ON m.fid = k.fid AND m.signer = k.key AND m.\"timestamp\" > to_timestamp(k.removed) "
      "WHERE m.death_event IS DISTINCT FROM k.revoked_event AND m.type NOT IN (16, 17, 18, 19, 20, 21)",
      {ParamType::kInt8, ParamType::kBytea, ParamType::kInt8, ParamType::kInt8}};
  Removals removals;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].check_signer) AddRemovals(decoded[i].onchain, &removals);
  std::vector<core::StreamEntry> out;
  if (removals.empty()) return out;
  std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea),
                               ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kInt8)};
  for (const auto& [k, t] : removals) {
    p[0].AddInt(static_cast<int64_t>(k.first));
    p[1].AddStr(k.second);
    p[2].AddInt(t);
    p[3].AddInt(static_cast<int64_t>(kAfterEveryEvent));
  }
  std::vector<ArrayParam> r = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea)};
  pg::ExecuteArrays(stmt, p, &r);
  for (size_t i = 0; i < r[0].size(); ++i)
    out.push_back(RevocationOf(static_cast<uint64_t>(r[0].int_at(i)), std::string(r[1].str_at(i))));
  return out;
}

// The held entries whose key was added by this batch (on-chain, or a KEY_ADD), taken out of
// waypoint.held_messages. They are judged again when applied (a removal may already be
// known, the KEY_ADD's scopes may not cover them: then they are held again).
std::vector<core::StreamEntry> ReleaseHeld(const std::vector<core::OnChainRow>& onchain,
                                           const std::vector<core::AppKeyRow>& app_keys,
                                           const std::vector<core::AppKeyStateRow>& app_key_states) {
  static PreparedStatement release{
      "release_held",
      "DELETE FROM waypoint.held_messages AS h USING unnest($1::bigint[], $2::bytea[]) AS k(fid, key) "
      "WHERE h.fid = k.fid AND h.signer = k.key "
      "RETURNING h.kind, h.payload, h.shard, h.event_id, h.source, h.job_id, h.fid",
      {ParamType::kInt8, ParamType::kBytea}};
  std::set<SignerKey> adds = SignerAdds(onchain);
  for (const auto& r : app_keys) adds.insert({r.c.fid, r.key});
  for (const auto& r : app_key_states) adds.insert({r.fid, r.key});
  if (adds.empty()) return {};
  std::vector<ArrayParam> p = {ArrayParam(ParamType::kInt8), ArrayParam(ParamType::kBytea)};
  for (const auto& [fid, key] : adds) {
    p[0].AddInt(static_cast<int64_t>(fid));
    p[1].AddStr(key);
  }
  std::vector<ArrayParam> r = {ArrayParam(ParamType::kText), ArrayParam(ParamType::kBytea),
                               ArrayParam(ParamType::kInt4), ArrayParam(ParamType::kInt8),
                               ArrayParam(ParamType::kText), ArrayParam(ParamType::kText),
                               ArrayParam(ParamType::kInt8)};
  pg::ExecuteArrays(release, p, &r);
  std::vector<core::StreamEntry> out(r[0].size());
  for (size_t i = 0; i < out.size(); ++i) {
    core::StreamEntry& e = out[i];
    if (!core::ParseEntryKind(r[0].str_at(i), &e.kind)) throw std::runtime_error("held message of unknown kind");
    e.payload = r[1].str_at(i);
    e.shard = static_cast<uint32_t>(r[2].int_at(i));
    e.event_id = static_cast<uint64_t>(r[3].int_at(i));
    if (!core::ParseEntrySource(r[4].str_at(i), &e.source)) throw std::runtime_error("held message of unknown source");
    e.job_id = r[5].str_at(i);
    e.fid = static_cast<uint64_t>(r[6].int_at(i));
    e.check_signer = true;
  }
  return out;
}

bool HasKeyMessages(const core::RowSet& rows) {
  if (!rows.app_key_states.empty()) return true;  // a backfill's key state counts as a KEY_ADD
  for (const auto& m : rows.messages)
    if (m.type == MESSAGE_TYPE_KEY_ADD || m.type == MESSAGE_TYPE_KEY_REMOVE) return true;
  return false;
}

// One apply sequence value per batch: every row this batch offers is confirmed at it.
// Before its first write the batch also takes the thread-root lock in shared mode, so
// the resolver, which takes it exclusively, never runs while a batch that writes casts is
// in flight (docs/apply-semantics.md, "Thread roots"). Taken again by a nested apply of
// the same transaction, it is already held. The key is the value of
// waypoint.thread_roots_lock_key(), written out: an upgrade applies payloads with this
// library while the schema is still an older version's, which lacks that function.
void NextSequence() {
  static PreparedStatement next{
      "apply_seq", "SELECT nextval('waypoint.apply_seq'), pg_advisory_xact_lock_shared(7176716458105632101)", {}};
  pg::ExecuteArrays(next, {});
}

}  // namespace

std::vector<EntryOutcome> ApplyEntries(const std::vector<core::StreamEntry>& entries) {
  std::vector<EntryOutcome> outcomes(entries.size());
  std::vector<core::RowSet> decoded(entries.size());
  bool check_signers = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    try {
      decoded[i] = core::DecodeStreamEntry(entries[i]);
      check_signers = check_signers || entries[i].check_signer;
    } catch (const core::Error& e) {
      if (!e.permanent()) throw;
      outcomes[i].applied = false;
      outcomes[i].reason = std::string(core::ErrorClassName(e.cls())) + ": " + e.what();
    }
  }
  // Level full: revocations of messages signed after their key's removal, applied last.
  std::vector<core::StreamEntry> after;
  if (check_signers) {
    // KEY_ADD / KEY_REMOVE entries first, on their own: the other messages are then judged
    // against the app keys as the store holds them after this batch's key messages.
    std::vector<size_t> keys_first;
    for (size_t i = 0; i < entries.size(); ++i)
      if (outcomes[i].applied && HasKeyMessages(decoded[i])) keys_first.push_back(i);
    if (!keys_first.empty() && keys_first.size() < entries.size()) {
      std::vector<core::StreamEntry> sub;
      for (size_t i : keys_first) sub.push_back(entries[i]);
      std::vector<EntryOutcome> sub_out = ApplyEntries(sub);
      for (size_t k = 0; k < keys_first.size(); ++k) {
        outcomes[keys_first[k]] = std::move(sub_out[k]);
        decoded[keys_first[k]] = core::RowSet{};
      }
    }
    after = JudgeSigners(entries, decoded, outcomes);
    for (auto& r : SignedAfterRemovals(entries, decoded)) after.push_back(std::move(r));
  }
  core::RowSet rows;
  for (auto& d : decoded) rows.Append(std::move(d));
  const Markers markers = CollectMarkers(entries, outcomes);
  if (rows.Empty() && markers.Empty()) return outcomes;
  NextSequence();
  std::vector<core::StreamEntry> released;
  if (!rows.Empty()) {
    core::ReduceRowSet(rows);
    // A channel merge lists the replaced slot holder in deleted_messages, often another
    // fid's: its waypoint.messages row belongs to another partition, which another worker
    // may be writing. Messages in key order make any two such batches lock rows in the
    // same order.
    if (HasChannelRows(rows))
      std::sort(rows.messages.begin(), rows.messages.end(), [](const core::MessageRow& a, const core::MessageRow& b) {
        return std::tie(a.fid, a.hash) < std::tie(b.fid, b.hash);
      });
    StandingMap standing = WriteMessages(rows.messages);
    WriteStores(rows, standing);
    WriteAppKeyStates(rows.app_key_states);
    WriteChannels(rows);
    WriteChannelStates(std::move(rows.channel_states));
    WriteProofs(rows.proofs);
    WriteOnChain(rows.onchain);
    released = ReleaseHeld(rows.onchain, rows.app_keys, rows.app_key_states);
  }
  Reconcile(markers);
  // Held messages whose key this batch added, then the revocations: applied now, after the
  // batch's markers (they confirm at a later apply sequence, so a reconciliation never
  // counts them as not offered).
  if (!released.empty()) (void)ApplyEntries(released);
  if (!after.empty()) (void)ApplyEntries(after);
  return outcomes;
}

}  // namespace waypoint::ext
