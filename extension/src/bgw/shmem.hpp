// Shared memory of the Waypoint workers: one slot per worker (apply workers 0..W-1, then
// the outbox dispatcher), holding its pid and counters for the waypoint.workers view.
// A slot's pid also guarantees a single live process per worker index: a partition is
// applied by one worker at a time (architecture contract 2).
#pragma once

#include <cstdint>

#include "waypoint/ext/guard.hpp"

extern "C" {
#include "storage/spin.h"
#include "utils/timestamp.h"
}

namespace waypoint::bgw {

enum class WorkerRole : int32_t { kApply = 0, kDispatcher = 1 };

constexpr int kLastErrorLen = 256;

struct WorkerSlot {
  slock_t mutex;  // protects every field below; held only around plain copies
  int32_t pid;    // 0 when no process holds the slot
  int32_t role;
  bool redis_up;
  uint64_t applied;
  uint64_t batches;
  uint64_t dead_letters;
  uint64_t errors;
  TimestampTz started_at;
  TimestampTz last_batch_at;
  TimestampTz last_applied_at;
  TimestampTz last_error_at;
  char last_error[kLastErrorLen];
};

struct SharedState {
  int32_t nslots;
  WorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

// Installs shmem_request_hook / shmem_startup_hook (chained). Only from _PG_init.
void InstallShmemHooks();
// The shared state, or nullptr when the library was not preloaded.
SharedState* State();
// Slot count: waypoint.workers apply workers + the dispatcher.
int SlotCount();
inline int DispatcherSlot() { return SlotCount() - 1; }

// ClaimSlot takes slot `index` for this process; false if a live process holds it.
// Registers a before_shmem_exit callback that frees the slot however the process ends.
bool ClaimSlot(int index, WorkerRole role);
// Slot pid (0 when free).
int SlotPid(int index);

void NoteRedis(int index, bool up);
void NoteBatch(int index, uint64_t applied, uint64_t dead_letters);
void NoteError(int index, const char* message);

}  // namespace waypoint::bgw
