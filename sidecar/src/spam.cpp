#include "spam.hpp"

#include <cctype>
#include <fstream>
#include <map>
#include <unordered_map>

#include "metrics.hpp"
#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {
namespace {

// A tiny JSON reader for one label line: flattens objects into dotted keys with scalar
// values as text ("type.fid" -> "123"). Arrays are skipped. Returns false on bad JSON.
class Flat {
 public:
  explicit Flat(const std::string& s) : s_(s) {}
  bool Parse(std::map<std::string, std::string>* out) {
    out_ = out;
    Ws();
    if (!Value("")) return false;
    Ws();
    return i_ == s_.size();
  }

 private:
  void Ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool String(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') {
        if (++i_ >= s_.size()) return false;
        if (s_[i_] == 'u') {
          i_ += 4;  // labels never need the code point; keep a placeholder
          out->push_back('?');
          ++i_;
          continue;
        }
      }
      out->push_back(s_[i_++]);
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool Value(const std::string& key) {
    Ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      Ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      while (true) {
        Ws();
        std::string k;
        if (!String(&k)) return false;
        Ws();
        if (i_ >= s_.size() || s_[i_] != ':') return false;
        ++i_;
        if (!Value(key.empty() ? k : key + "." + k)) return false;
        Ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      ++i_;
      Ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      while (true) {
        if (!Value(key + "[]")) return false;
        Ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') {
      std::string v;
      if (!String(&v)) return false;
      (*out_)[key] = v;
      return true;
    }
    const size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                              s_[i_] == '.'))
      ++i_;
    if (i_ == start) return false;
    (*out_)[key] = s_.substr(start, i_ - start);
    return true;
  }
  const std::string& s_;
  size_t i_ = 0;
  std::map<std::string, std::string>* out_ = nullptr;
};

bool ToU64(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  *v = out;
  return true;
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
    std::map<std::string, std::string> f;
    uint64_t fid = 0, value = 0, ts = 0;
    if (!Flat(line).Parse(&f) || f["label_type"] != "spam" || f["type.target"] != "fid" ||
        !ToU64(f["type.fid"], &fid) || !ToU64(f["label_value"], &value)) {
      ++st.skipped;
      continue;
    }
    ToU64(f["timestamp"], &ts);
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
