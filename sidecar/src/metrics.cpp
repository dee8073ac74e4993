#include "metrics.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {

void Metrics::Describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard<std::mutex> l(mu_);
  families_[name] = {type, help};
  series_[name];
}

void Metrics::Add(const std::string& name, const std::string& labels, double v) {
  std::lock_guard<std::mutex> l(mu_);
  series_[name][labels] += v;
}

void Metrics::Set(const std::string& name, const std::string& labels, double v) {
  std::lock_guard<std::mutex> l(mu_);
  series_[name][labels] = v;
}

double Metrics::Get(const std::string& name, const std::string& labels) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = series_.find(name);
  if (it == series_.end()) return 0;
  auto jt = it->second.find(labels);
  return jt == it->second.end() ? 0 : jt->second;
}

std::string Metrics::Render() {
  std::lock_guard<std::mutex> l(mu_);
  std::ostringstream os;
  for (const auto& [name, values] : series_) {
    auto f = families_.find(name);
    if (f != families_.end()) {
      os << "# HELP " << name << " " << f->second.second << "\n# TYPE " << name << " " << f->second.first << "\n";
    }
    for (const auto& [labels, v] : values) {
      os << name;
      if (!labels.empty()) os << "{" << labels << "}";
      os << " " << std::fixed << v << "\n";
    }
  }
  return os.str();
}

Metrics& GlobalMetrics() {
  static Metrics m;
  return m;
}

std::string Label(const std::string& k, const std::string& v) {
  // Text exposition format: a label value escapes backslash, double quote and line feed.
  std::string out = k + "=\"";
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  out.push_back('"');
  return out;
}

double ResidentMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return 0;
  return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

HttpServer::HttpServer() = default;
HttpServer::~HttpServer() { Stop(); }

int HttpServer::Start(const std::string& listen, Handler h) {
  const auto colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  const int port = std::stoi(listen.substr(colon + 1));
  const auto cannot = [&](const std::string& why) {
    return core::Error(core::ErrorClass::kConfig, "http.listen '" + listen + "': cannot listen: " + why);
  };
  // Only the configured address: an IPv4 literal, or localhost as 127.0.0.1 (a resolver
  // could answer ::1 first).
  const std::string ip = host == "localhost" ? "127.0.0.1" : host;
  in_addr parsed{};
  if (inet_pton(AF_INET, ip.c_str(), &parsed) != 1) throw cannot("'" + host + "' is not an IPv4 address");

  server_ = std::make_unique<httplib::Server>();
  httplib::Server& s = *server_;
  s.set_address_family(AF_INET);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second sidecar bind the
  // same port and silently take half of the scrapes.
  s.set_socket_options([](socket_t fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  });
  // One request per connection and short timeouts: a slow or idle client must not hold
  // a worker (or Stop, which waits for the workers) longer than 2 s. httplib waits for a
  // connection's first request with the keep-alive timeout, then reads it with the read
  // timeout. Two workers are plenty for scrapes and probes.
  s.set_keep_alive_max_count(1);
  s.set_keep_alive_timeout(2);
  s.set_read_timeout(2, 0);
  s.set_write_timeout(2, 0);
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // Every method and path goes to the one handler (routing is the handler's business).
  s.set_pre_routing_handler([h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    int status = 200;
    std::string type = "text/plain; charset=utf-8";
    std::string body;
    try {
      body = h(req.path, &status, &type);
    } catch (const std::exception& e) {
      status = 500;
      type = "text/plain; charset=utf-8";
      body = e.what();
    }
    res.status = status;
    res.set_content(body, type);
    return httplib::Server::HandlerResponse::Handled;
  });

  errno = 0;
  const int bound = port == 0 ? s.bind_to_any_port(ip) : (s.bind_to_port(ip, port) ? port : -1);
  if (bound < 0) {
    // httplib reports only failure; errno still holds what bind or listen said.
    const std::string why = errno != 0 ? std::strerror(errno) : "bind failed";
    server_.reset();
    throw cannot(why);
  }
  thread_ = std::thread([&s] { s.listen_after_bind(); });
  // stop() before the accept loop has started would be lost: wait until it runs.
  for (int i = 0; i < 5000 && !s.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

void HttpServer::Stop() {
  if (server_) server_->stop();            // closes the listening socket; the accept loop returns
  if (thread_.joinable()) thread_.join();  // after the workers finished their requests
  server_.reset();
}

}  // namespace waypoint::sidecar
