#include "waypoint/ext/guard.hpp"

namespace waypoint::ext::detail {

void RaiseCaught(const CaughtError& e) {
  if (e.hint != nullptr) {
    ereport(ERROR, (errcode(e.sqlerrcode), errmsg("%s", e.message), errhint("%s", e.hint)));
  }
  ereport(ERROR, (errcode(e.sqlerrcode), errmsg("%s", e.message)));
  pg_unreachable();
}

}  // namespace waypoint::ext::detail
