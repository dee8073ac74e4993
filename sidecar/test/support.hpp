// Test support: free loopback ports, child processes stopped by pid, and a private
// redis-server per test fixture.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

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

}  // namespace waypoint::sidecar::test
