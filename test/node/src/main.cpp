// waypoint-test-node: a real gRPC server that behaves like a Snapchain node, serving a
// deterministic generated history (and optionally live blocks), with fault switches
// for testing the sidecar. See docs/test-node.md.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hub_event.pb.h"
#include "waypoint/core/hash.hpp"
#include "waypoint/testnode/generator.hpp"
#include "waypoint/testnode/scale.hpp"
#include "waypoint/testnode/server.hpp"

namespace {

using namespace waypoint::testnode;

const char* kUsage = R"(usage: waypoint-test-node [options]

Dataset (deterministic for a given seed and size):
  --seed N             seed of everything generated (default 1)
  --fids N             number of fids (default 200)
  --messages N         submissions per fid, on average (default 20)
  --shards N           number of data shards (default 2)
  --blocks N           planned blocks of the initial history (default: automatic)
  --extra-history N    append N more blocks to the initial history (same seed: the same
                       history carried further, e.g. to test a mirror catching up)
  --threads N          signing threads at start-up (default: hardware)

Scale mode (benchmarks; a mainnet-shaped dataset generated lazily, never held in memory):
  --scale-messages N   serve about N messages instead of the history above
  --scale-fids N       fids (default: N / 600, at least 100)
  --scale-alpha A      Pareto exponent of the per-fid message counts (default 0.6)
  --scale-thread-parents  replies name earlier casts of the dataset, so threads form
                       (default: synthetic parent hashes, every reply open at its parent)
  --scale-release FILE the stream is generated while its messages are below the number in
                       FILE (re-read continuously; missing or empty = 0); without it, at once
  --scale-status FILE  written whenever the generator caught up with the release
  --scale-plan FILE    written at start: per fid its shard, messages and held messages

Server:
  --port N             port on 127.0.0.1 (default 0 = any free port)
  --port-file FILE     write the bound port to FILE
  --dump-state FILE    write the state lines (docs/state-lines.md) of the final state;
                       rewritten on SIGUSR1 and at shutdown
  --block-ms N         block time of live blocks in ms (default 500)
  --live-rate R        submissions per second in live blocks (default 0: empty blocks)
  --live-events N      stop submitting after N live events (default: never)
  --freeze             produce no blocks after the initial history
  --no-app-keys        no KEY_ADD / KEY_REMOVE and no messages signed by app keys (a
                       backfill cannot read KEY_ADD messages back)
  --no-channels        no channels: no CHANNEL_REGISTER events and no channel messages
  --emit-log FILE      for latency benchmarks: one line "<message hash hex>\t<unix ms>" per
                       MERGE_MESSAGE of a live block, stamped when the block is published

Forgeries (in every read: Subscribe, GetEvent(s) and the fid's backfill pages):
  --forge-rate P       after a submission, with probability P, also emit a forged cast of
                       that fid that no node would merge, never part of the state
  --forge-kinds LIST   comma-separated, taken in turn: hash, signature, data, network,
                       signer (default hash,signature,data,network)
  --forge-log FILE     write one line "<carried hash hex>\t<fid>\t<kind>" per forgery

Faults (Subscribe streams only; GetEvent(s) and bulk reads always tell the truth):
  --drop-every N       end each stream with UNAVAILABLE after N events
  --duplicate-rate P   send an event twice with probability P
  --garble-rate P      send an event as undecodable bytes with probability P
  --withhold P         skip an event (never BLOCK_CONFIRMED) with probability P
  --stall-after N      stop sending after N events, keeping the stream open
  --lag-skip           skip events of a subscriber lagging more than --lag-capacity
  --lag-capacity N     live buffer of --lag-skip (default 10000)
)";

struct Args {
  GeneratorOptions gen;
  FaultOptions faults;
  uint32_t shards = 2;
  int port = 0;
  std::string port_file, dump_state;
  uint32_t block_ms = 500;
  double live_rate = 0;
  int64_t live_events = -1;
  bool freeze = false;
  uint32_t extra_history = 0;
  std::string emit_log;
  std::string forge_log;
  ScaleOptions scale;
  bool scale_mode = false;
};

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "waypoint-test-node: " << msg << "\n" << kUsage;
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  a.gen.sign_threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + f);
      return argv[++i];
    };
    auto num = [&]() -> uint64_t {
      const std::string v = val();
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end) Die("not a number for " + f + ": " + v);
      return n;
    };
    auto prob = [&]() -> double {
      const std::string v = val();
      char* end = nullptr;
      const double p = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || p < 0 || p > 1) Die("not a probability for " + f + ": " + v);
      return p;
    };
    if (f == "--help" || f == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (f == "--seed")
      a.gen.seed = num();
    else if (f == "--fids")
      a.gen.fids = static_cast<uint32_t>(num());
    else if (f == "--messages")
      a.gen.messages_per_fid = static_cast<uint32_t>(num());
    else if (f == "--shards")
      a.shards = static_cast<uint32_t>(num());
    else if (f == "--blocks")
      a.gen.blocks = static_cast<uint32_t>(num());
    else if (f == "--extra-history")
      a.extra_history = static_cast<uint32_t>(num());
    else if (f == "--threads")
      a.gen.sign_threads = static_cast<unsigned>(std::max<uint64_t>(1, num()));
    else if (f == "--port")
      a.port = static_cast<int>(num());
    else if (f == "--port-file")
      a.port_file = val();
    else if (f == "--dump-state")
      a.dump_state = val();
    else if (f == "--forge-rate")
      a.gen.forge_rate = prob();
    else if (f == "--no-app-keys")
      a.gen.app_keys = false;
    else if (f == "--no-channels")
      a.gen.channels = false;
    else if (f == "--forge-log")
      a.forge_log = val();
    else if (f == "--forge-kinds") {
      a.gen.forge_kinds.clear();
      std::stringstream ss(val());
      std::string k;
      while (std::getline(ss, k, ',')) {
        const Forgery fk = ParseForgery(k);
        if (fk == Forgery::kNone) Die("--forge-kinds: unknown kind '" + k + "'");
        a.gen.forge_kinds.push_back(fk);
      }
    } else if (f == "--block-ms")
      a.block_ms = static_cast<uint32_t>(std::max<uint64_t>(1, num()));
    else if (f == "--live-rate") {
      const std::string v = val();
      a.live_rate = std::strtod(v.c_str(), nullptr);
    } else if (f == "--live-events")
      a.live_events = static_cast<int64_t>(num());
    else if (f == "--freeze")
      a.freeze = true;
    else if (f == "--emit-log")
      a.emit_log = val();
    else if (f == "--scale-messages") {
      a.scale.messages = num();
      a.scale_mode = a.scale.messages > 0;
    } else if (f == "--scale-fids")
      a.scale.fids = static_cast<uint32_t>(num());
    else if (f == "--scale-alpha") {
      const std::string v = val();
      a.scale.alpha = std::strtod(v.c_str(), nullptr);
      if (!(a.scale.alpha > 0.1 && a.scale.alpha < 10)) Die("--scale-alpha must be in (0.1, 10)");
    } else if (f == "--scale-thread-parents")
      a.scale.thread_parents = true;
    else if (f == "--scale-release")
      a.scale.release_file = val();
    else if (f == "--scale-status")
      a.scale.status_file = val();
    else if (f == "--scale-plan")
      a.scale.plan_file = val();
    else if (f == "--drop-every")
      a.faults.drop_every = num();
    else if (f == "--duplicate-rate")
      a.faults.duplicate_rate = prob();
    else if (f == "--garble-rate")
      a.faults.garble_rate = prob();
    else if (f == "--withhold")
      a.faults.withhold = prob();
    else if (f == "--stall-after")
      a.faults.stall_after = num();
    else if (f == "--lag-skip")
      a.faults.lag_skip = true;
    else if (f == "--lag-capacity")
      a.faults.lag_capacity = std::max<uint64_t>(1, num());
    else
      Die("unknown option " + f);
  }
  if (a.shards == 0) Die("--shards must be at least 1");
  if (a.gen.fids == 0) Die("--fids must be at least 1");
  if (a.gen.forge_kinds.empty())
    a.gen.forge_kinds = {Forgery::kHash, Forgery::kSignature, Forgery::kData, Forgery::kNetwork};
  a.faults.seed = a.gen.seed;
  a.scale.seed = a.gen.seed;
  a.scale.shards = a.shards;
  return a;
}

void Dump(const NodeServer& srv, const std::string& path) {
  if (path.empty()) return;
  if (!srv.WriteStateFile(path)) std::cerr << "waypoint-test-node: cannot write " << path << "\n";
}

// Event log length of every data shard (1..num_shards).
std::vector<size_t> EventCounts(const Node& n) {
  std::vector<size_t> c;
  for (uint32_t s = 1; s <= n.num_shards(); ++s) c.push_back(n.Log(s)->events.size());
  return c;
}

// Appends "<hash hex>\t<unix ms>" for every MERGE_MESSAGE published since `before`.
void LogEmitted(const NodeServer& srv, const std::vector<size_t>& before, FILE* out) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  srv.Read([&](const Node& n) {
    static const char* kHex = "0123456789abcdef";
    for (uint32_t s = 1; s <= n.num_shards(); ++s) {
      const auto& ev = n.Log(s)->events;
      for (size_t i = before[s - 1]; i < ev.size(); ++i) {
        if (ev[i].type != HUB_EVENT_TYPE_MERGE_MESSAGE || ev[i].a == kNone) continue;
        std::string hex;
        for (uint8_t b : n.Msg(ev[i].a).hash) hex += {kHex[b >> 4], kHex[b & 15]};
        std::fprintf(out, "%s\t%lld\n", hex.c_str(), static_cast<long long>(now_ms));
      }
    }
    return 0;
  });
  std::fflush(out);
}

}  // namespace

void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

// Scale mode: the lazily generated dataset (scale.hpp); SIGTERM/SIGINT stop it.
int RunScale(const Args& args, sigset_t* sigs) {
  const auto t0 = std::chrono::steady_clock::now();
  ScaleServer srv(args.scale);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "waypoint-test-node: %s, planned in %.1fs\n", srv.Describe().c_str(), secs);
  const int port = srv.Start(args.port);
  if (port == 0) {
    std::fprintf(stderr, "waypoint-test-node: cannot listen on 127.0.0.1:%d\n", args.port);
    return 1;
  }
  WritePortFile(args.port_file, port);
  std::fprintf(stderr, "waypoint-test-node listening on 127.0.0.1:%d\n", port);
  for (;;) {
    int sig = 0;
    if (sigwait(sigs, &sig) != 0 || sig == SIGUSR1) continue;
    break;
  }
  srv.Shutdown();
  std::fprintf(stderr, "waypoint-test-node: stopped\n");
  return 0;
}

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);

  // Signals are taken synchronously by the main thread; block them before any thread starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  if (args.scale_mode) return RunScale(args, &sigs);

  const auto t0 = std::chrono::steady_clock::now();
  auto node = std::make_unique<Node>(args.shards, args.gen.seed);
  Generator gen(*node, args.gen);
  uint64_t blocks = gen.BuildHistory();
  if (args.extra_history > 0) blocks = gen.ExtraHistory(args.extra_history);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "waypoint-test-node: history of %zu messages over %llu blocks, %d shards, built in %.1fs\n",
               node->NumMessages(), static_cast<unsigned long long>(blocks), static_cast<int>(args.shards), secs);

  if (!args.forge_log.empty()) {
    std::ofstream out(args.forge_log + ".tmp");
    for (uint32_t i : node->Forged()) {
      const MsgRec& m = node->Msg(i);
      out << waypoint::core::ToHex(m.hash) << "\t" << m.fid << "\t" << ForgeryName(m.forged) << "\n";
    }
    out.close();
    std::rename((args.forge_log + ".tmp").c_str(), args.forge_log.c_str());
  }
  NodeServer srv(std::move(node), args.faults);
  const int port = srv.Start(args.port);
  if (port == 0) {
    std::fprintf(stderr, "waypoint-test-node: cannot listen on 127.0.0.1:%d\n", args.port);
    return 1;
  }
  const bool live_submissions = !args.freeze && args.live_rate > 0 && args.live_events != 0;
  if (!live_submissions) Dump(srv, args.dump_state);  // the history is already complete
  if (!args.port_file.empty()) {
    const std::string tmp = args.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), args.port_file.c_str());
  }
  std::fprintf(stderr, "waypoint-test-node listening on 127.0.0.1:%d\n", port);

  std::atomic<bool> stop{false};
  std::thread producer;
  if (!args.freeze) {
    producer = std::thread([&] {
      FILE* emit_log = args.emit_log.empty() ? nullptr : std::fopen(args.emit_log.c_str(), "w");
      if (!args.emit_log.empty() && emit_log == nullptr)
        std::cerr << "waypoint-test-node: cannot write " << args.emit_log << "\n";
      double budget = 0;
      int64_t live_events = 0;
      bool submitting = live_submissions;
      auto next = std::chrono::steady_clock::now();
      while (!stop.load()) {
        next += std::chrono::milliseconds(args.block_ms);
        std::this_thread::sleep_until(next);
        if (stop.load()) break;
        uint32_t ops = 0;
        if (submitting) {
          budget += args.live_rate * args.block_ms / 1000.0;
          ops = static_cast<uint32_t>(budget);
          budget -= ops;
        }
        uint64_t produced = 0;
        std::vector<size_t> before;
        srv.Mutate([&](Node& n) {
          if (emit_log) before = EventCounts(n);
          produced = gen.LiveBlock(ops);
        });
        // Stamped right after publication (subscribers are notified inside Mutate).
        if (emit_log) LogEmitted(srv, before, emit_log);
        live_events += static_cast<int64_t>(produced);
        if (submitting && args.live_events > 0 && live_events >= args.live_events) {
          submitting = false;
          Dump(srv, args.dump_state);
          std::fprintf(stderr, "waypoint-test-node: live events complete (%lld)\n",
                       static_cast<long long>(live_events));
        }
      }
      if (emit_log) std::fclose(emit_log);
    });
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      Dump(srv, args.dump_state);
      continue;
    }
    break;
  }
  stop.store(true);
  if (producer.joinable()) producer.join();
  Dump(srv, args.dump_state);
  srv.Shutdown();
  std::fprintf(stderr, "waypoint-test-node: stopped\n");
  return 0;
}
