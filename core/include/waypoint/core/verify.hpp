// Checks a Snapchain Message the way a node's validate_message does before it merges
// one (docs/verification.md):
//   hash      hash = BLAKE3(data_bytes, or our protobuf encoding of data)[0..20];
//   data      data_bytes, when sent, decode as MessageData, and equal `data` when both
//             are sent (the hash covers data_bytes, the apply reads data);
//   scheme    hash_scheme BLAKE3 and signature_scheme ED25519;
//   signature an Ed25519 signature by `signer` (32-byte key) of the 20-byte hash;
//   network   data.network is the network the mirror follows.
// Levels choose which checks run: hash = hash + data; signature = all of the above.
// Whether the signer was a key of the fid (level full) needs the mirror's state and is
// judged by the extension. Body semantics (timestamps, field limits) are not checked.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "message.pb.h"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/hash.hpp"

namespace waypoint::core {

enum class VerifyLevel { kOff, kHash, kSignature, kFull };

const char* VerifyLevelName(VerifyLevel l);
// "mainnet", "testnet", "devnet" ("none" for anything else), and back (nullopt for others).
const char* NetworkName(FarcasterNetwork n);
std::optional<FarcasterNetwork> ParseNetwork(std::string_view s);
// "off", "hash", "signature", "full"; nullopt for anything else.
std::optional<VerifyLevel> ParseVerifyLevel(std::string_view s);

enum class VerifyStatus {
  kOk,
  kNoData,                      // neither data_bytes nor data present
  kBadData,                     // data_bytes do not decode as MessageData
  kDataMismatch,                // data and data_bytes both sent, with different values
  kHashSchemeUnsupported,       // hash_scheme != BLAKE3
  kHashMismatch,                // hash != BLAKE3(bytes)[0..20] (includes wrong length)
  kSignatureSchemeUnsupported,  // signature_scheme != ED25519
  kBadSignerLength,             // signer is not a 32-byte Ed25519 key
  kBadSignatureLength,          // signature is not 64 bytes
  kBadSignature,                // Ed25519 verification failed
  kWrongNetwork,                // data.network is not the network followed
  kUndecodable,                 // the payload itself is not the protobuf its kind says
};

// Stable snake_case name of a status: the `check` of a refusal in dead letters and metrics.
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

struct VerifyOptions {
  VerifyLevel level = VerifyLevel::kSignature;
  // The network messages must name; NONE skips the check.
  FarcasterNetwork network = FARCASTER_NETWORK_NONE;
};

// The bytes the hash covers: data_bytes when present (and non-empty), else the
// serialisation of data. Empty when the message has neither.
std::string SignedBytes(const Message& m);

// The checks of opts.level on one message (level off: always ok). Every check that ran
// is reported in the booleans; `status`/`reason` name the first failure in the order
// hash, data, scheme, signature, network.
VerifyResult VerifyMessage(const Message& m, const VerifyOptions& opts = {});

// A stream payload's verdict: every Message it carries (an event's message and the
// messages it deleted; a backfill page's message) must pass. Kinds that carry no signed
// Message (on-chain events, fname proofs, block markers, backfill markers) always pass.
struct Refusal {
  VerifyStatus status = VerifyStatus::kOk;
  std::string reason;
  uint64_t fid = 0;  // the refused message's fid, when it decoded
  std::string hash;  // the refused message's hash as carried (raw bytes; empty if none)
};
std::optional<Refusal> VerifyPayload(EntryKind kind, std::string_view payload, const VerifyOptions& opts);

// Ed25519 verification of a detached signature (libsodium). Returns false for keys or
// signatures of the wrong length instead of throwing.
bool VerifyEd25519(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace waypoint::core
