// Prometheus text metrics, and the HTTP server of /metrics, /healthz, /readyz
// (cpp-httplib). It only serves scrapes and probes, on a loopback address by default.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace waypoint::sidecar {

class Metrics {
 public:
  // Describe registers a family (type "counter" or "gauge") with its help text.
  void Describe(const std::string& name, const std::string& type, const std::string& help);
  void Add(const std::string& name, const std::string& labels, double v = 1);
  void Set(const std::string& name, const std::string& labels, double v);
  double Get(const std::string& name, const std::string& labels = "");
  std::string Render();

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> families_;  // name -> (type, help)
  std::map<std::string, std::map<std::string, double>> series_;          // name -> labels -> value
};

Metrics& GlobalMetrics();
// Label helper: Label("shard", 1) -> shard="1"; the value's backslashes, double quotes and
// line feeds are escaped (\\, \", \n) as the Prometheus text format requires.
std::string Label(const std::string& k, const std::string& v);
inline std::string Label(const std::string& k, uint64_t v) { return Label(k, std::to_string(v)); }

// ResidentMemoryBytes: the process' resident set size (/proc/self/statm), 0 if unreadable.
double ResidentMemoryBytes();

class HttpServer {
 public:
  // handler(path, &status, &content_type) returns the body; it answers every request
  // (any method, any path). status defaults to 200, content_type to text/plain.
  using Handler = std::function<std::string(const std::string&, int*, std::string*)>;
  HttpServer();
  ~HttpServer();
  // Start binds host:port (an IPv4 address or localhost; port 0 = any free port) and
  // serves on a thread. Returns the port. Throws core::Error(kConfig) when it cannot listen.
  int Start(const std::string& listen, Handler h);
  // Stop closes the listening socket and waits for requests in progress.
  void Stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace waypoint::sidecar
