// Message verification (see verify.hpp). Ed25519 comes from libsodium, whose
// crypto_sign_verify_detached rejects non-canonical S and small-order keys and R, close
// to ed25519-dalek's verify_strict used by Snapchain.
#include "waypoint/core/verify.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "hub_event.pb.h"

namespace waypoint::core {
namespace {

void EnsureSodium() {
  // sodium_init is idempotent and thread safe; a failure means no usable RNG/CPU
  // detection, which verification does not need, but -1 is documented as fatal.
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium initialisation failed");
}

}  // namespace

const char* NetworkName(FarcasterNetwork n) {
  switch (n) {
    case FARCASTER_NETWORK_MAINNET: return "mainnet";
    case FARCASTER_NETWORK_TESTNET: return "testnet";
    case FARCASTER_NETWORK_DEVNET: return "devnet";
    default: return "none";
  }
}

std::optional<FarcasterNetwork> ParseNetwork(std::string_view s) {
  for (auto n : {FARCASTER_NETWORK_MAINNET, FARCASTER_NETWORK_TESTNET, FARCASTER_NETWORK_DEVNET})
    if (s == NetworkName(n)) return n;
  return std::nullopt;
}

const char* VerifyLevelName(VerifyLevel l) {
  switch (l) {
    case VerifyLevel::kOff: return "off";
    case VerifyLevel::kHash: return "hash";
    case VerifyLevel::kSignature: return "signature";
    case VerifyLevel::kFull: return "full";
  }
  return "unknown";
}

std::optional<VerifyLevel> ParseVerifyLevel(std::string_view s) {
  for (auto l : {VerifyLevel::kOff, VerifyLevel::kHash, VerifyLevel::kSignature, VerifyLevel::kFull})
    if (s == VerifyLevelName(l)) return l;
  return std::nullopt;
}

const char* VerifyStatusName(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::kOk: return "ok";
    case VerifyStatus::kNoData: return "no_data";
    case VerifyStatus::kBadData: return "bad_data";
    case VerifyStatus::kDataMismatch: return "data_mismatch";
    case VerifyStatus::kHashSchemeUnsupported: return "hash_scheme_unsupported";
    case VerifyStatus::kHashMismatch: return "hash_mismatch";
    case VerifyStatus::kSignatureSchemeUnsupported: return "signature_scheme_unsupported";
    case VerifyStatus::kBadSignerLength: return "bad_signer_length";
    case VerifyStatus::kBadSignatureLength: return "bad_signature_length";
    case VerifyStatus::kBadSignature: return "bad_signature";
    case VerifyStatus::kWrongNetwork: return "wrong_network";
    case VerifyStatus::kUndecodable: return "undecodable";
  }
  return "unknown";
}

std::string SignedBytes(const Message& m) {
  if (m.has_data_bytes() && !m.data_bytes().empty()) return m.data_bytes();
  if (m.has_data()) return m.data().SerializeAsString();
  return {};
}

bool VerifyEd25519(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) return false;
  EnsureSodium();
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

VerifyResult VerifyMessage(const Message& m, const VerifyOptions& opts) {
  VerifyResult r;
  if (opts.level == VerifyLevel::kOff) return r;
  auto fail = [&r](VerifyStatus s, std::string reason) {
    if (r.status == VerifyStatus::kOk) {  // keep the first failure
      r.status = s;
      r.reason = std::move(reason);
    }
  };

  r.used_data_bytes = m.has_data_bytes() && !m.data_bytes().empty();
  // hash
  if (!r.used_data_bytes && !m.has_data()) {
    fail(VerifyStatus::kNoData, "message has neither data_bytes nor data");
  } else {
    const auto computed = MessageHash(SignedBytes(m));
    r.hash_ok =
        m.hash().size() == computed.size() && std::memcmp(m.hash().data(), computed.data(), computed.size()) == 0;
    if (!r.hash_ok) {
      fail(VerifyStatus::kHashMismatch, "hash " + ToHex(m.hash()) + " != BLAKE3 of " +
                                            (r.used_data_bytes ? "data_bytes " : "encoded data ") + ToHex(computed));
    }
  }

  // data: what the hash covers must be what the apply reads.
  MessageData parsed;
  const MessageData* data = m.has_data() ? &m.data() : nullptr;
  if (r.used_data_bytes) {
    if (!parsed.ParseFromString(m.data_bytes())) {
      fail(VerifyStatus::kBadData,
           "data_bytes (" + std::to_string(m.data_bytes().size()) + " bytes) do not decode as MessageData");
    } else if (data != nullptr && data->SerializeAsString() != parsed.SerializeAsString()) {
      fail(VerifyStatus::kDataMismatch, "data and data_bytes carry different MessageData");
    } else {
      data = &parsed;
    }
  }

  if (opts.level == VerifyLevel::kHash) return r;

  // scheme
  const bool hash_scheme_ok = m.hash_scheme() == HASH_SCHEME_BLAKE3;
  const bool sig_scheme_ok = m.signature_scheme() == SIGNATURE_SCHEME_ED25519;
  r.scheme_ok = hash_scheme_ok && sig_scheme_ok;
  if (!hash_scheme_ok) {
    fail(VerifyStatus::kHashSchemeUnsupported,
         "hash_scheme " + std::to_string(static_cast<int>(m.hash_scheme())) + " is not BLAKE3");
  }
  if (!sig_scheme_ok) {
    fail(VerifyStatus::kSignatureSchemeUnsupported,
         "signature_scheme " + std::to_string(static_cast<int>(m.signature_scheme())) + " is not ED25519");
  }

  // signature
  if (m.signer().size() != crypto_sign_PUBLICKEYBYTES) {
    fail(VerifyStatus::kBadSignerLength, "signer is " + std::to_string(m.signer().size()) + " bytes, want 32");
  } else if (m.signature().size() != crypto_sign_BYTES) {
    fail(VerifyStatus::kBadSignatureLength, "signature is " + std::to_string(m.signature().size()) + " bytes, want 64");
  } else {
    // The signature covers the hash as carried in the message; a wrong hash is already
    // reported above, so a valid signature over a bad hash still fails overall.
    r.signature_ok = VerifyEd25519(m.signer(), m.hash(), m.signature());
    if (!r.signature_ok) fail(VerifyStatus::kBadSignature, "Ed25519 signature by " + ToHex(m.signer()) + " is invalid");
  }

  // network
  if (opts.network != FARCASTER_NETWORK_NONE && data != nullptr && data->network() != opts.network) {
    fail(VerifyStatus::kWrongNetwork, std::string("message is for network ") + NetworkName(data->network()) + " (" +
                                          std::to_string(static_cast<int>(data->network())) + "), not " +
                                          NetworkName(opts.network));
  }
  return r;
}

std::optional<Refusal> VerifyPayload(EntryKind kind, std::string_view payload, const VerifyOptions& opts) {
  if (opts.level == VerifyLevel::kOff) return std::nullopt;
  auto check = [&opts](const Message& m) -> std::optional<Refusal> {
    VerifyResult r = VerifyMessage(m, opts);
    if (r.ok()) return std::nullopt;
    Refusal out{r.status, std::move(r.reason), 0, m.hash()};
    if (m.has_data()) {
      out.fid = m.data().fid();
    } else {
      MessageData d;
      if (d.ParseFromString(m.data_bytes())) out.fid = d.fid();
    }
    return out;
  };
  const int size = static_cast<int>(payload.size());
  if (kind == EntryKind::kMessage) {
    Message m;
    if (!m.ParseFromArray(payload.data(), size))
      return Refusal{VerifyStatus::kUndecodable, "payload is not a Message", 0, {}};
    return check(m);
  }
  if (kind != EntryKind::kHubEvent) return std::nullopt;
  HubEvent e;
  if (!e.ParseFromArray(payload.data(), size))
    return Refusal{VerifyStatus::kUndecodable, "payload is not a HubEvent", 0, {}};
  switch (e.type()) {
    case HUB_EVENT_TYPE_MERGE_MESSAGE: {
      if (auto r = check(e.merge_message_body().message())) return r;
      for (const Message& d : e.merge_message_body().deleted_messages()) {
        if (auto r = check(d)) {
          r->reason = "deleted message: " + r->reason;
          return r;
        }
      }
      return std::nullopt;
    }
    case HUB_EVENT_TYPE_PRUNE_MESSAGE: return check(e.prune_message_body().message());
    case HUB_EVENT_TYPE_REVOKE_MESSAGE: return check(e.revoke_message_body().message());
    default: return std::nullopt;
  }
}

}  // namespace waypoint::core
