// Message hash and signature verification (see verify.hpp). Ed25519 comes from
// libsodium, whose crypto_sign_verify_detached rejects non-canonical S and small-order
// keys and R, close to ed25519-dalek's verify_strict used by Snapchain.
#include "waypoint/core/verify.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace waypoint::core {
namespace {

void EnsureSodium() {
  // sodium_init is idempotent and thread safe; a failure means no usable RNG/CPU
  // detection, which verification does not need, but -1 is documented as fatal.
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium initialisation failed");
}

}  // namespace

const char* VerifyStatusName(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::kOk: return "ok";
    case VerifyStatus::kNoData: return "no_data";
    case VerifyStatus::kHashSchemeUnsupported: return "hash_scheme_unsupported";
    case VerifyStatus::kHashMismatch: return "hash_mismatch";
    case VerifyStatus::kSignatureSchemeUnsupported: return "signature_scheme_unsupported";
    case VerifyStatus::kBadSignerLength: return "bad_signer_length";
    case VerifyStatus::kBadSignatureLength: return "bad_signature_length";
    case VerifyStatus::kBadSignature: return "bad_signature";
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

VerifyResult VerifyMessage(const Message& m) {
  VerifyResult r;
  auto fail = [&r](VerifyStatus s, std::string reason) {
    if (r.status == VerifyStatus::kOk) {  // keep the first failure
      r.status = s;
      r.reason = std::move(reason);
    }
  };

  r.used_data_bytes = m.has_data_bytes() && !m.data_bytes().empty();
  if (!r.used_data_bytes && !m.has_data()) {
    fail(VerifyStatus::kNoData, "message has neither data_bytes nor data");
  } else {
    const auto computed = MessageHash(SignedBytes(m));
    r.hash_ok = m.hash().size() == computed.size() && std::memcmp(m.hash().data(), computed.data(), computed.size()) == 0;
    if (!r.hash_ok) {
      fail(VerifyStatus::kHashMismatch, "hash " + ToHex(m.hash()) + " != BLAKE3 of " +
                                            (r.used_data_bytes ? "data_bytes " : "encoded data ") + ToHex(computed));
    }
  }

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

  if (m.signer().size() != crypto_sign_PUBLICKEYBYTES) {
    fail(VerifyStatus::kBadSignerLength, "signer is " + std::to_string(m.signer().size()) + " bytes, want 32");
  } else if (m.signature().size() != crypto_sign_BYTES) {
    fail(VerifyStatus::kBadSignatureLength,
         "signature is " + std::to_string(m.signature().size()) + " bytes, want 64");
  } else {
    // The signature covers the hash as carried in the message; a wrong hash is already
    // reported above, so a valid signature over a bad hash still fails overall.
    r.signature_ok = VerifyEd25519(m.signer(), m.hash(), m.signature());
    if (!r.signature_ok) fail(VerifyStatus::kBadSignature, "Ed25519 signature by " + ToHex(m.signer()) + " is invalid");
  }
  return r;
}

}  // namespace waypoint::core
