#include "waypoint/core/entry.hpp"

#include <charconv>

#include "waypoint/core/errors.hpp"
#include "waypoint/core/hash.hpp"

namespace waypoint::core {
namespace {

struct KindName {
  EntryKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{EntryKind::kHubEvent, "event"},
                               {EntryKind::kMessage, "message"},
                               {EntryKind::kOnChainEvent, "onchain"},
                               {EntryKind::kUserNameProof, "fname"},
                               {EntryKind::kFidDone, "fid_done"},
                               {EntryKind::kFidStart, "fid_start"},
                               {EntryKind::kRefused, "refused"},
                               {EntryKind::kSigner, "signer"},
                               {EntryKind::kChannelState, "channel_state"}};

}  // namespace

bool ParseEntryKind(std::string_view value, EntryKind* out) {
  for (const auto& kn : kKinds)
    if (value == kn.name) {
      *out = kn.kind;
      return true;
    }
  return false;
}

namespace {

struct SourceName {
  EntrySource source;
  const char* name;
};
constexpr SourceName kSources[] = {
    {EntrySource::kLive, "live"}, {EntrySource::kRepair, "repair"}, {EntrySource::kBackfill, "backfill"}};

template <typename T>
T ParseNumber(const std::string& field, const std::string& value) {
  T out{};
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
    throw Error(ErrorClass::kDecode, "stream entry field '" + field + "' is not a number: '" + value + "'");
  }
  return out;
}

}  // namespace

const char* EntryKindName(EntryKind k) {
  for (const auto& kn : kKinds)
    if (kn.kind == k) return kn.name;
  return "unknown";
}

bool ParseEntrySource(std::string_view value, EntrySource* out) {
  for (const auto& sn : kSources)
    if (value == sn.name) {
      *out = sn.source;
      return true;
    }
  return false;
}

const char* EntrySourceName(EntrySource s) {
  for (const auto& sn : kSources)
    if (sn.source == s) return sn.name;
  return "unknown";
}

EntryFields EncodeEntry(const StreamEntry& e) {
  EntryFields f = {{"v", std::to_string(StreamEntry::kVersion)},
                   {"k", EntryKindName(e.kind)},
                   {"sh", std::to_string(e.shard)},
                   {"id", std::to_string(e.event_id)},
                   {"fid", std::to_string(e.fid)},
                   {"src", EntrySourceName(e.source)},
                   {"job", e.job_id},
                   {"ts", std::to_string(e.written_at_ms)},
                   {"d", e.payload}};
  if (e.check_signer) f.emplace_back("vf", "full");
  if (e.kind == EntryKind::kRefused) {
    f.emplace_back("rk", EntryKindName(e.refused_kind));
    f.emplace_back("ck", e.refused_check);
    f.emplace_back("why", e.refused_reason);
    f.emplace_back("mh", ToHex(e.refused_hash));
  }
  return f;
}

StreamEntry DecodeEntry(const EntryFields& fields) {
  StreamEntry e;
  bool seen_v = false, seen_k = false, seen_d = false;
  for (const auto& [name, value] : fields) {
    if (name == "v") {
      const int v = ParseNumber<int>(name, value);
      if (v != StreamEntry::kVersion)
        throw Error(ErrorClass::kDecode, "stream entry version " + value + " is not supported (expected " +
                                             std::to_string(StreamEntry::kVersion) + ")");
      seen_v = true;
    } else if (name == "k") {
      if (!ParseEntryKind(value, &e.kind))
        throw Error(ErrorClass::kDecode, "stream entry kind '" + value + "' is unknown");
      seen_k = true;
    } else if (name == "vf") {
      if (value != "full") throw Error(ErrorClass::kDecode, "stream entry field 'vf' is '" + value + "', not full");
      e.check_signer = true;
    } else if (name == "rk") {
      if (!ParseEntryKind(value, &e.refused_kind))
        throw Error(ErrorClass::kDecode, "stream entry refused kind '" + value + "' is unknown");
    } else if (name == "ck") {
      e.refused_check = value;
    } else if (name == "why") {
      e.refused_reason = value;
    } else if (name == "mh") {
      auto h = FromHex(value);
      if (!h) throw Error(ErrorClass::kDecode, "stream entry field 'mh' is not hex: '" + value + "'");
      e.refused_hash = std::move(*h);
    } else if (name == "sh") {
      e.shard = ParseNumber<uint32_t>(name, value);
    } else if (name == "id") {
      e.event_id = ParseNumber<uint64_t>(name, value);
    } else if (name == "fid") {
      e.fid = ParseNumber<uint64_t>(name, value);
    } else if (name == "src") {
      if (!ParseEntrySource(value, &e.source))
        throw Error(ErrorClass::kDecode, "stream entry source '" + value + "' is unknown");
    } else if (name == "job") {
      e.job_id = value;
    } else if (name == "ts") {
      e.written_at_ms = ParseNumber<int64_t>(name, value);
    } else if (name == "d") {
      e.payload = value;
      seen_d = true;
    }
    // Unknown fields are ignored so a newer writer can add tracing fields.
  }
  if (!seen_v) throw Error(ErrorClass::kDecode, "stream entry has no version field 'v'");
  if (!seen_k) throw Error(ErrorClass::kDecode, "stream entry has no kind field 'k'");
  if (!seen_d) throw Error(ErrorClass::kDecode, "stream entry has no payload field 'd'");
  if (e.kind == EntryKind::kRefused && e.refused_check.empty())
    throw Error(ErrorClass::kDecode, "refused stream entry has no check field 'ck'");
  return e;
}

}  // namespace waypoint::core
