// Test messages: a Message around `data` with its real BLAKE3 hash and placeholder
// signature and signer bytes (the apply checks neither; verification tests use the
// official-library fixtures instead). Shared by the pg_regress payload generator and the
// integration feeders.
#pragma once

#include <string>
#include <utility>

#include "message.pb.h"
#include "waypoint/core/hash.hpp"

namespace waypoint::testsupport {

inline Message HashedMessage(MessageData data, char signature_fill, char signer_fill) {
  Message m;
  const auto h = core::MessageHash(data.SerializeAsString());
  m.set_hash(std::string(reinterpret_cast<const char*>(h.data()), h.size()));
  m.set_hash_scheme(HASH_SCHEME_BLAKE3);
  m.set_signature(std::string(64, signature_fill));
  m.set_signature_scheme(SIGNATURE_SCHEME_ED25519);
  m.set_signer(std::string(32, signer_fill));
  *m.mutable_data() = std::move(data);
  return m;
}

}  // namespace waypoint::testsupport
