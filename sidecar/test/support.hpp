// Test support: free loopback ports, child processes stopped by pid, and a private
// redis-server per test fixture.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "redis.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar::test {

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t l = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  close(fd);
  return ntohs(a.sin_port);
}

class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& argv, const std::string& log = "/dev/null",
          const std::vector<std::string>& env = {}) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log.c_str(), "a");
      if (f) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
      }
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  Process(Process&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  Process& operator=(Process&& o) noexcept {
    Stop();
    pid_ = o.pid_;
    o.pid_ = -1;
    return *this;
  }
  ~Process() { Stop(); }
  pid_t pid() const { return pid_; }
  bool Alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  // Signal sends sig and waits up to ms for exit; returns the exit status (-1 if still alive).
  int Signal(int sig, int ms = 15000) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    for (int waited = 0; waited < ms; waited += 20) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void Stop() {
    if (pid_ > 0 && Signal(SIGTERM, 5000) < 0) Signal(SIGKILL, 5000);
    pid_ = -1;
  }
  // RssKb reads VmRSS of the child.
  long RssKb() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

class RedisServer {
 public:
  RedisServer() { Start(FreePort()); }
  void Start(int port) {
    port_ = port;
    proc_ = Process({WAYPOINT_REDIS_SERVER, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no"});
    for (int i = 0; i < 200; ++i) {
      try {
        Redis r(ParseRedisUrl(url()), 500);
        if (r.Command({"PING"})->type == REDIS_REPLY_STATUS) return;
      } catch (...) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  void Stop() { proc_.Stop(); }
  void Restart() { Start(port_); }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  int port_ = 0;
  Process proc_;
};

inline bool WaitFor(const std::function<bool()>& cond, int ms) {
  for (int waited = 0; waited < ms; waited += 20) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// One entry read back from a partition stream, with the partition it was found in.
struct LandedEntry {
  uint32_t partition = 0;
  core::StreamEntry entry;
};

// ReadPartitionEntries decodes every entry of partition streams 0..partitions-1, in order.
inline std::vector<LandedEntry> ReadPartitionEntries(Redis& r, uint32_t partitions) {
  std::vector<LandedEntry> out;
  core::KeyLayout k;
  for (uint32_t p = 0; p < partitions; ++p) {
    Reply rep = r.Command({"XRANGE", k.PartitionStream(p), "-", "+"});
    for (size_t i = 0; i < rep->elements; ++i) {
      const redisReply* f = rep->element[i]->element[1];
      core::EntryFields fields;
      for (size_t j = 0; j + 1 < f->elements; j += 2)
        fields.emplace_back(std::string(f->element[j]->str, f->element[j]->len),
                            std::string(f->element[j + 1]->str, f->element[j + 1]->len));
      out.push_back({p, core::DecodeEntry(fields)});
    }
  }
  return out;
}

// The process environment LoadConfig reads (CLI11 takes each option's variable from it):
// while alive, exactly `vars` of the WAYPOINT_* variables are set; the previous ones come
// back afterwards. Tests run one at a time, so nothing reads the environment meanwhile.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) : set_(vars) {
    for (char** e = environ; e && *e; ++e)
      if (std::string(*e).rfind("WAYPOINT_", 0) == 0) saved_.emplace_back(*e);
    for (const auto& kv : saved_) unsetenv(kv.substr(0, kv.find('=')).c_str());
    for (const auto& [k, v] : vars) setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& kv : set_) unsetenv(kv.first.c_str());
    for (const auto& kv : saved_) {
      const auto eq = kv.find('=');
      setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::map<std::string, std::string> set_;
  std::vector<std::string> saved_;
};

// LoadConfig with exactly these WAYPOINT_* variables in the environment.
inline Config LoadWith(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                       bool* help) {
  ScopedEnv scoped(env);
  return LoadConfig(args, help);
}

// One HTTP exchange over a fresh loopback connection: `request` is sent as is, the whole
// answer read until the server closes (or 5 s pass).
struct HttpAnswer {
  int status = 0;                              // 0: no answer
  std::string status_line;                     // "HTTP/1.1 200 OK"
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

inline HttpAnswer HttpExchange(const std::string& ip, int port, const std::string& request) {
  HttpAnswer out;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return out;
  }
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return out;
  out.body = raw.substr(head_end + 4);
  size_t pos = raw.find("\r\n");
  out.status_line = raw.substr(0, pos);
  const auto sp = out.status_line.find(' ');
  if (sp != std::string::npos) out.status = std::atoi(out.status_line.c_str() + sp + 1);
  while (pos < head_end) {
    const size_t next = raw.find("\r\n", pos + 2);
    const std::string line = raw.substr(pos + 2, next - pos - 2);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const auto value = line.find_first_not_of(' ', colon + 1);
      out.headers[name] = value == std::string::npos ? "" : line.substr(value);
    }
    pos = next;
  }
  return out;
}

inline HttpAnswer HttpGet(int port, const std::string& path, const std::string& ip = "127.0.0.1") {
  return HttpExchange(ip, port, "GET " + path + " HTTP/1.0\r\n\r\n");
}

}  // namespace waypoint::sidecar::test
