// SQL test surface of the apply engine:
//   waypoint.apply_payloads(kinds text[], payloads bytea[])
//     RETURNS TABLE(ord int, applied boolean, reason text)
// applies payloads through ApplyEntries inside the caller's transaction, without Redis.
// Superuser only (EXECUTE is also revoked from PUBLIC in the install script).
#include <string>
#include <vector>

#include "hub_event.pb.h"
#include "waypoint/ext/apply.hpp"
#include "waypoint/ext/guard.hpp"

extern "C" {
#include "fmgr.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(waypoint_apply_payloads);
}

namespace waypoint::ext {
namespace {

Datum ApplyPayloadsImpl(FunctionCallInfo fcinfo) {
  if (!superuser()) throw SqlError(ERRCODE_INSUFFICIENT_PRIVILEGE, "waypoint.apply_payloads is for superusers only");
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "arguments must not be null");

  ArrayType* kinds_arr = nullptr;
  ArrayType* payloads_arr = nullptr;
  Datum* kinds = nullptr;
  bool* kind_nulls = nullptr;
  int nkinds = 0;
  Datum* payloads = nullptr;
  bool* payload_nulls = nullptr;
  int npayloads = 0;
  PgCall([&] {
    kinds_arr = PG_GETARG_ARRAYTYPE_P(0);
    payloads_arr = PG_GETARG_ARRAYTYPE_P(1);
    deconstruct_array(kinds_arr, TEXTOID, -1, false, TYPALIGN_INT, &kinds, &kind_nulls, &nkinds);
    deconstruct_array(payloads_arr, BYTEAOID, -1, false, TYPALIGN_INT, &payloads, &payload_nulls, &npayloads);
  });
  if (nkinds != npayloads)
    throw SqlError(ERRCODE_ARRAY_SUBSCRIPT_ERROR, "kinds and payloads must have the same length");

  std::vector<core::StreamEntry> entries(nkinds);
  for (int i = 0; i < nkinds; ++i) {
    if (kind_nulls[i] || payload_nulls[i])
      throw SqlError(ERRCODE_NULL_VALUE_NOT_ALLOWED, "kinds and payloads must not contain nulls");
    char* kind_name = nullptr;
    PgCall([&] { kind_name = text_to_cstring(DatumGetTextPP(kinds[i])); });
    // Backfill markers carry their job and fid in the entry: "fid_start/<job>/<fid>".
    std::string kind(kind_name);
    // "full:event", "full:message": as written by a sidecar at verification level full.
    if (kind.rfind("full:", 0) == 0) {
      kind = kind.substr(5);
      entries[i].check_signer = true;
    }
    // "event@2": the data shard the entry came from (default 1, the shard channel
    // messages are taken from).
    entries[i].shard = 1;
    const size_t at = kind.find('@');
    if (at != std::string::npos) {
      const std::string n = kind.substr(at + 1);
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 9)
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string("unknown entry kind: ") + kind_name,
                       "a shard suffix is @<number>");
      entries[i].shard = static_cast<uint32_t>(strtoul(n.c_str(), nullptr, 10));
      kind = kind.substr(0, at);
    }
    // "merged": a Message, applied as the message of a MERGE_MESSAGE event with id 0
    // (merged before every real event; waypoint.fill_channels uses it).
    const bool merged = kind == "merged";
    if (merged) kind = "event";
    const size_t slash = kind.find('/');
    if (slash != std::string::npos) {
      const std::string rest = kind.substr(slash + 1);
      const size_t slash2 = rest.find('/');
      kind = kind.substr(0, slash);
      // "channel_state/<as_of>": a backfill's channel state read, as of that shard-1 position.
      if (kind == "channel_state" && slash2 == std::string::npos) {
        if (rest.empty() || rest.size() > 18 || rest.find_first_not_of("0123456789") != std::string::npos)
          throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string("unknown entry kind: ") + kind_name,
                         "a channel state is channel_state/<as_of event id>");
        entries[i].event_id = strtoull(rest.c_str(), nullptr, 10);
      } else if (slash2 == std::string::npos || (kind != "fid_start" && kind != "fid_done"))
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string("unknown entry kind: ") + kind_name,
                       "markers are fid_start/<job>/<fid> or fid_done/<job>/<fid>");
      if (kind != "channel_state") {
        entries[i].job_id = rest.substr(0, slash2);
        entries[i].fid = strtoull(rest.c_str() + slash2 + 1, nullptr, 10);
      }
    }
    if (!core::ParseEntryKind(kind.c_str(), &entries[i].kind))
      throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string("unknown entry kind: ") + kind_name,
                     "use event, message, merged, onchain, fname, signer, channel_state/<as_of>, "
                     "fid_start/<job>/<fid> or fid_done[/<job>/<fid>], with @<shard> or a full: prefix");
    bytea* b = nullptr;
    PgCall([&] { b = DatumGetByteaPP(payloads[i]); });
    entries[i].payload.assign(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
    if (merged) {
      HubEvent e;
      e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
      if (!e.mutable_merge_message_body()->mutable_message()->ParseFromString(entries[i].payload))
        throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, "a merged payload must be a Message");
      entries[i].payload = e.SerializeAsString();
    }
    entries[i].source = core::EntrySource::kBackfill;
  }

  PgCall([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  });
  std::vector<EntryOutcome> outcomes = ApplyEntries(entries);
  PgCall([&] { SPI_finish(); });

  PgCall([&] {
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (size_t i = 0; i < outcomes.size(); ++i) {
      Datum values[3];
      bool nulls[3] = {false, false, false};
      values[0] = Int32GetDatum(static_cast<int32>(i + 1));
      values[1] = BoolGetDatum(outcomes[i].applied);
      // An applied entry has a reason only when it was held (verification level full).
      if (outcomes[i].applied && outcomes[i].reason.empty()) {
        nulls[2] = true;
        values[2] = (Datum)0;
      } else {
        values[2] = CStringGetTextDatum(outcomes[i].reason.c_str());
      }
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
  });
  return (Datum)0;
}

}  // namespace
}  // namespace waypoint::ext

extern "C" PGDLLEXPORT Datum waypoint_apply_payloads(PG_FUNCTION_ARGS) {
  return waypoint::ext::InvokeCpp([&] { return waypoint::ext::ApplyPayloadsImpl(fcinfo); });
}
