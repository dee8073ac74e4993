#include "spam.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "metrics.hpp"
#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {
namespace {

// A label's integer field: a JSON unsigned integer, or a string of digits (quoted numbers
// were always accepted; an existing labels file reads the same). Anything else (negative,
// fractional, missing) is not a value.
bool U64Field(const nlohmann::json& obj, const char* name, uint64_t* v) {
  const auto it = obj.find(name);
  if (it == obj.end()) return false;
  if (it->is_number_unsigned()) {
    *v = it->get<uint64_t>();
    return true;
  }
  if (!it->is_string()) return false;
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > 19) return false;
  uint64_t out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  *v = out;
  return true;
}

bool StringField(const nlohmann::json& obj, const char* name, const char* want) {
  const auto it = obj.find(name);
  return it != obj.end() && it->is_string() && it->get_ref<const std::string&>() == want;
}

}  // namespace

SpamLoadStats SpamFilter::Load(std::istream& in) {
  SpamLoadStats st;
  struct Latest {
    uint64_t ts;
    uint64_t value;
  };
  std::unordered_map<uint64_t, Latest> latest;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++st.lines;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    uint64_t fid = 0, value = 0, ts = 0;
    const auto type = j.find("type");  // end() unless j is an object with "type"
    if (type == j.end() || !type->is_object() || !StringField(j, "label_type", "spam") ||
        !StringField(*type, "target", "fid") || !U64Field(*type, "fid", &fid) || !U64Field(j, "label_value", &value)) {
      ++st.skipped;
      continue;
    }
    U64Field(j, "timestamp", &ts);  // no timestamp: oldest
    ++st.labels;
    auto it = latest.find(fid);
    if (it == latest.end() || ts >= it->second.ts) latest[fid] = {ts, value};
  }
  spam_.clear();
  for (const auto& [fid, l] : latest)
    if (l.value == 0) spam_.insert(fid);
  st.spam_fids = spam_.size();
  active_ = true;
  return st;
}

SpamLoadStats SpamFilter::LoadFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw core::Error(core::ErrorClass::kConfig, "filter.spam_labels_file '" + path + "' cannot be read");
  return Load(f);
}

SpamFilter& GlobalSpamFilter() {
  static SpamFilter f;
  return f;
}

bool SpamFiltered(uint64_t fid, const char* src, uint64_t n) {
  if (!GlobalSpamFilter().IsSpam(fid)) return false;
  GlobalMetrics().Add("waypoint_sidecar_spam_filtered_total", Label("src", src), static_cast<double>(n));
  return true;
}

}  // namespace waypoint::sidecar
