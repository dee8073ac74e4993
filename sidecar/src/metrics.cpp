#include "metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
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

int HttpServer::Start(const std::string& listen, Handler h) {
  handler_ = std::move(h);
  const auto colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  const int port = std::stoi(listen.substr(colon + 1));
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1 ||
      bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
    const std::string why = std::strerror(errno);
    close(fd_);
    fd_ = -1;
    throw core::Error(core::ErrorClass::kConfig, "http.listen '" + listen + "': cannot listen: " + why);
  }
  socklen_t len = sizeof addr;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  thread_ = std::thread([this] { Loop(); });
  return ntohs(addr.sin_port);
}

void HttpServer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void HttpServer::Loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{2, 0};  // a slow client must not hold the only server thread
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    std::string path = "/";
    if (auto sp = req.find(' '); sp != std::string::npos) {
      auto sp2 = req.find(' ', sp + 1);
      path = req.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1);
    }
    int status = 200;
    std::string type = "text/plain; charset=utf-8";
    std::string body;
    try {
      body = handler_(path, &status, &type);
    } catch (const std::exception& e) {
      status = 500;
      body = e.what();
    }
    std::ostringstream os;
    os << "HTTP/1.0 " << status << (status == 200 ? " OK" : status == 404 ? " Not Found" : " Service Unavailable")
       << "\r\nContent-Type: " << type << "\r\nContent-Length: " << body.size() << "\r\nConnection: close\r\n\r\n"
       << body;
    const std::string out = os.str();
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(c);
  }
}

}  // namespace waypoint::sidecar
