// The two guards that are the only ways across the C++ <-> Postgres boundary.
//
//  InvokeCpp(fn)  C++ -> Postgres. Wraps every extern "C" entry (SQL functions, bgworker
//                 mains, callbacks). Runs fn in try; a C++ exception's text is copied inside
//                 the catch and the Postgres ERROR is raised only AFTER leaving the catch, so
//                 no longjmp ever crosses a live catch block or C++ frame.
//  PgCall(fn)     Postgres -> C++. Wraps a single Postgres call made from C++ code. An
//                 ereport(ERROR) inside fn is caught by PG_TRY, the error state copied and
//                 flushed, the memory context restored, and a C++ PgError thrown instead,
//                 so destructors of the C++ frames above run normally (T2, T3).
//                 The callable must hold no objects with destructors of its own: between
//                 sigsetjmp and the failing call only trivially destructible frames may live.
//
// After a PgError the current transaction is still aborted from Postgres' point of view:
// the caller must roll back (AbortCurrentTransaction or a subtransaction rollback).
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

extern "C" {
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"
}

#include "waypoint/core/errors.hpp"

namespace waypoint::ext {

// A Postgres ERROR turned into a C++ exception; keeps the SQLSTATE. (spi.hpp also
// throws one for a value its column type cannot hold, as Postgres' input would.)
class PgError : public std::exception {
 public:
  PgError(int sqlerrcode, std::string message) : sqlerrcode_(sqlerrcode), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  int sqlerrcode() const { return sqlerrcode_; }

 private:
  int sqlerrcode_;
  std::string message_;
};

// Raised by our own code when it wants a specific SQLSTATE (e.g. invalid input).
class SqlError : public std::exception {
 public:
  SqlError(int sqlerrcode, std::string message, std::string hint = {})
      : sqlerrcode_(sqlerrcode), message_(std::move(message)), hint_(std::move(hint)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  int sqlerrcode() const { return sqlerrcode_; }
  const std::string& hint() const { return hint_; }

 private:
  int sqlerrcode_;
  std::string message_;
  std::string hint_;
};

namespace detail {
struct CaughtError {
  int sqlerrcode = 0;
  char* message = nullptr;  // palloc'd
  char* hint = nullptr;     // palloc'd or null
};
[[noreturn]] void RaiseCaught(const CaughtError& e);
}  // namespace detail

template <typename F>
auto InvokeCpp(F&& fn) -> decltype(fn()) {
  detail::CaughtError caught;
  try {
    return fn();
  } catch (const SqlError& e) {
    caught.sqlerrcode = e.sqlerrcode();
    caught.message = pstrdup(e.what());
    caught.hint = e.hint().empty() ? nullptr : pstrdup(e.hint().c_str());
  } catch (const PgError& e) {
    caught.sqlerrcode = e.sqlerrcode();
    caught.message = pstrdup(e.what());
  } catch (const core::Error& e) {
    caught.sqlerrcode = e.permanent() ? ERRCODE_DATA_EXCEPTION : ERRCODE_CONNECTION_EXCEPTION;
    caught.message = pstrdup(e.what());
  } catch (const std::exception& e) {
    caught.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    caught.message = pstrdup(e.what());
  } catch (...) {
    caught.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    caught.message = pstrdup("unknown C++ exception");
  }
  // Outside every catch block now: safe to longjmp.
  detail::RaiseCaught(caught);
}

template <typename F>
void PgCall(F&& fn) {
  MemoryContext saved = CurrentMemoryContext;
  ErrorData* volatile edata = nullptr;
  PG_TRY();
  { fn(); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(saved);
    edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (edata != nullptr) {
    PgError err(edata->sqlerrcode, edata->message ? edata->message : "unknown Postgres error");
    FreeErrorData(edata);
    throw err;
  }
}

}  // namespace waypoint::ext
