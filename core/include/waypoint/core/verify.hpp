// Checks a Snapchain Message the way a node's validate_message does for hash and
// signature: hash_scheme must be BLAKE3 and hash must equal BLAKE3(bytes)[0..20], where
// bytes = data_bytes when present, else our protobuf encoding of data (only reliable if
// the submitter's encoding was canonical); signature_scheme must be ED25519 and the
// signature an Ed25519 signature by `signer` (32-byte public key) over the 20-byte hash.
// Body semantics (timestamps, fid ownership, field limits) are not checked here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "message.pb.h"
#include "waypoint/core/hash.hpp"

namespace waypoint::core {

enum class VerifyStatus {
  kOk,
  kNoData,                      // neither data_bytes nor data present
  kHashSchemeUnsupported,       // hash_scheme != BLAKE3
  kHashMismatch,                // hash != BLAKE3(bytes)[0..20] (includes wrong length)
  kSignatureSchemeUnsupported,  // signature_scheme != ED25519
  kBadSignerLength,             // signer is not a 32-byte Ed25519 key
  kBadSignatureLength,          // signature is not 64 bytes
  kBadSignature,                // Ed25519 verification failed
};

const char* VerifyStatusName(VerifyStatus s);

struct VerifyResult {
  VerifyStatus status = VerifyStatus::kOk;
  bool hash_ok = false;       // hash matches the bytes
  bool scheme_ok = false;     // hash_scheme BLAKE3 and signature_scheme ED25519
  bool signature_ok = false;  // Ed25519 signature valid for the 20-byte hash
  bool used_data_bytes = false;
  std::string reason;  // empty when ok; otherwise one human-readable sentence

  bool ok() const { return status == VerifyStatus::kOk; }
};

// The bytes the hash covers: data_bytes when present (and non-empty), else the
// serialisation of data. Empty when the message has neither.
std::string SignedBytes(const Message& m);

// Hash and signature check of one message; every failing check is reported in the
// booleans, `status`/`reason` name the first failure in the order hash, scheme, signature.
VerifyResult VerifyMessage(const Message& m);

// Ed25519 verification of a detached signature (libsodium). Returns false for keys or
// signatures of the wrong length instead of throwing.
bool VerifyEd25519(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace waypoint::core
