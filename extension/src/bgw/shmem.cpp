// Shared memory of the workers (see shmem.hpp).
#include "shmem.hpp"

#include <signal.h>

#include <cstring>

#include "settings.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/lwlock.h"
}

namespace waypoint::bgw {
namespace {

SharedState* g_state = nullptr;
shmem_request_hook_type g_prev_request = nullptr;
shmem_startup_hook_type g_prev_startup = nullptr;

Size StateSize() { return add_size(offsetof(SharedState, slots), mul_size(sizeof(WorkerSlot), SlotCount())); }

// Hooks are called by the postmaster: nothing in them can throw (plain PG calls only).
void RequestHook() {
  if (g_prev_request != nullptr) g_prev_request();
  RequestAddinShmemSpace(StateSize());
}

void StartupHook() {
  if (g_prev_startup != nullptr) g_prev_startup();
  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  g_state = static_cast<SharedState*>(ShmemInitStruct("waypoint workers", StateSize(), &found));
  if (!found) {
    memset(g_state, 0, StateSize());
    g_state->nslots = SlotCount();
    for (int i = 0; i < g_state->nslots; ++i) SpinLockInit(&g_state->slots[i].mutex);
  }
  LWLockRelease(AddinShmemInitLock);
}

// Frees the slot on any exit path, FATAL included (PG_FINALLY would not run then).
void ReleaseSlot(int code, Datum arg) {
  const int index = DatumGetInt32(arg);
  WorkerSlot* s = &g_state->slots[index];
  SpinLockAcquire(&s->mutex);
  if (s->pid == MyProcPid) {
    s->pid = 0;
    s->redis_up = false;
  }
  SpinLockRelease(&s->mutex);
}

WorkerSlot* Slot(int index) {
  if (g_state == nullptr || index < 0 || index >= g_state->nslots) return nullptr;
  return &g_state->slots[index];
}

}  // namespace

void InstallShmemHooks() {
  g_prev_request = shmem_request_hook;
  shmem_request_hook = RequestHook;
  g_prev_startup = shmem_startup_hook;
  shmem_startup_hook = StartupHook;
}

SharedState* State() { return g_state; }

int SlotCount() { return settings::workers + 1; }

bool ClaimSlot(int index, WorkerRole role) {
  WorkerSlot* s = Slot(index);
  if (s == nullptr) return false;
  SpinLockAcquire(&s->mutex);
  const int holder = s->pid;
  SpinLockRelease(&s->mutex);
  // A holder that no longer exists left without cleanup; its slot is free.
  if (holder != 0 && holder != MyProcPid && kill(holder, 0) == 0) return false;
  bool taken = false;
  SpinLockAcquire(&s->mutex);
  if (s->pid == holder) {
    s->pid = MyProcPid;
    s->role = static_cast<int32_t>(role);
    s->redis_up = false;
    s->started_at = GetCurrentTimestamp();
    taken = true;
  }
  SpinLockRelease(&s->mutex);
  if (taken) before_shmem_exit(ReleaseSlot, Int32GetDatum(index));
  return taken;
}

int SlotPid(int index) {
  WorkerSlot* s = Slot(index);
  if (s == nullptr) return 0;
  SpinLockAcquire(&s->mutex);
  const int pid = s->pid;
  SpinLockRelease(&s->mutex);
  return pid;
}

void NoteRedis(int index, bool up) {
  WorkerSlot* s = Slot(index);
  if (s == nullptr) return;
  SpinLockAcquire(&s->mutex);
  s->redis_up = up;
  SpinLockRelease(&s->mutex);
}

void NoteBatch(int index, uint64_t applied, uint64_t dead_letters) {
  WorkerSlot* s = Slot(index);
  if (s == nullptr) return;
  const TimestampTz now = GetCurrentTimestamp();
  SpinLockAcquire(&s->mutex);
  s->batches++;
  s->applied += applied;
  s->dead_letters += dead_letters;
  s->last_batch_at = now;
  if (applied > 0) s->last_applied_at = now;
  SpinLockRelease(&s->mutex);
}

void NoteError(int index, const char* message) {
  WorkerSlot* s = Slot(index);
  if (s == nullptr) return;
  const TimestampTz now = GetCurrentTimestamp();
  SpinLockAcquire(&s->mutex);
  s->errors++;
  s->last_error_at = now;
  strlcpy(s->last_error, message, sizeof s->last_error);
  SpinLockRelease(&s->mutex);
}

}  // namespace waypoint::bgw
