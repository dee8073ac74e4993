#include "backlog.hpp"

#include "metrics.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace waypoint::sidecar {
namespace {

using StreamId = std::pair<uint64_t, uint64_t>;

std::optional<StreamId> ParseId(const std::string& s) {
  const auto dash = s.find('-');
  if (dash == std::string::npos) return std::nullopt;
  try {
    return StreamId{std::stoull(s.substr(0, dash)), std::stoull(s.substr(dash + 1))};
  } catch (...) {
    return std::nullopt;
  }
}

std::string Str(const redisReply* r) {
  if (!r) return "";
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) return std::string(r->str, r->len);
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return "";
}

// Groups parses XINFO GROUPS (RESP2: one flat name/value array per group).
std::vector<std::map<std::string, const redisReply*>> Groups(const Reply& rep) {
  std::vector<std::map<std::string, const redisReply*>> out;
  if (!rep || rep->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < rep->elements; ++i) {
    const redisReply* g = rep->element[i];
    std::map<std::string, const redisReply*> m;
    if (g->type == REDIS_REPLY_ARRAY)
      for (size_t j = 0; j + 1 < g->elements; j += 2) m[Str(g->element[j])] = g->element[j + 1];
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

uint64_t StreamBacklog(Redis& r, const std::string& stream) {
  Reply info = r.Command({"XINFO", "GROUPS", stream});
  if (info->type == REDIS_REPLY_ERROR) return 0;  // no such key
  auto groups = Groups(info);
  Reply len = r.Command({"XLEN", stream});
  const uint64_t xlen = len->type == REDIS_REPLY_INTEGER ? static_cast<uint64_t>(len->integer) : 0;
  if (groups.empty()) return xlen;
  uint64_t worst = 0;
  for (auto& g : groups) {
    uint64_t pending = 0, lag = xlen;
    if (auto it = g.find("pending"); it != g.end() && it->second->type == REDIS_REPLY_INTEGER)
      pending = static_cast<uint64_t>(it->second->integer);
    // lag is nil when Redis cannot compute it (after deletions): count the whole stream then.
    if (auto it = g.find("lag"); it != g.end() && it->second->type == REDIS_REPLY_INTEGER)
      lag = static_cast<uint64_t>(it->second->integer);
    worst = std::max(worst, pending + lag);
  }
  return worst;
}

uint64_t TrimAcknowledged(Redis& r, const std::string& stream) {
  Reply info = r.Command({"XINFO", "GROUPS", stream});
  if (info->type == REDIS_REPLY_ERROR) return 0;
  auto groups = Groups(info);
  if (groups.empty()) return 0;
  std::optional<StreamId> threshold;
  for (auto& g : groups) {
    const std::string name = Str(g["name"]);
    auto last = ParseId(Str(g["last-delivered-id"]));
    if (!last) return 0;
    StreamId safe{last->first, last->second + 1};
    Reply pend = r.Command({"XPENDING", stream, name});
    if (pend->type != REDIS_REPLY_ARRAY || pend->elements < 2) return 0;
    if (pend->element[0]->type == REDIS_REPLY_INTEGER && pend->element[0]->integer > 0) {
      auto min_pending = ParseId(Str(pend->element[1]));
      if (!min_pending) return 0;
      safe = std::min(safe, *min_pending);
    }
    threshold = threshold ? std::min(*threshold, safe) : safe;
  }
  if (!threshold || (threshold->first == 0 && threshold->second <= 1)) return 0;
  Reply t =
      r.Command({"XTRIM", stream, "MINID", std::to_string(threshold->first) + "-" + std::to_string(threshold->second)});
  Redis::Check(t, "XTRIM " + stream);
  return t->type == REDIS_REPLY_INTEGER ? static_cast<uint64_t>(t->integer) : 0;
}

void TrimAllAcknowledged(Redis& r, const core::KeyLayout& keys, uint32_t partitions) {
  uint64_t trimmed = 0;
  for (uint32_t p = 0; p < partitions; ++p) trimmed += TrimAcknowledged(r, keys.PartitionStream(p));
  trimmed += TrimAcknowledged(r, keys.BackfillJobStream());
  GlobalMetrics().Add("waypoint_sidecar_trimmed_entries_total", "", static_cast<double>(trimmed));
}

}  // namespace waypoint::sidecar
