// Per-message cost of each verification level (docs/verification.md), on one core:
// signed casts like the node's (data_bytes, BLAKE3-160 hash, Ed25519 signature) are
// checked with core::VerifyPayload exactly as the sidecar does. Prints one line per level.
//
// usage: verify_cost [MESSAGES]   (default 20000)
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "message.pb.h"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/verify.hpp"

using namespace waypoint::core;

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  if (sodium_init() < 0) return 1;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  std::vector<std::string> payloads;
  payloads.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    MessageData d;
    d.set_type(MESSAGE_TYPE_CAST_ADD);
    d.set_fid(1 + i % 5000);
    d.set_timestamp(120000000 + static_cast<uint32_t>(i));
    d.set_network(FARCASTER_NETWORK_MAINNET);
    d.mutable_cast_add_body()->set_text("a cast of about the length casts have on mainnet, number " +
                                        std::to_string(i));
    Message m;
    m.set_data_bytes(d.SerializeAsString());
    const auto h = MessageHash(m.data_bytes());
    m.set_hash(std::string(h.begin(), h.end()));
    m.set_hash_scheme(HASH_SCHEME_BLAKE3);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, h.data(), h.size(), sk);
    m.set_signature(std::string(reinterpret_cast<char*>(sig), sizeof sig));
    m.set_signature_scheme(SIGNATURE_SCHEME_ED25519);
    m.set_signer(std::string(reinterpret_cast<char*>(pk), sizeof pk));
    payloads.push_back(m.SerializeAsString());
  }
  std::printf("level      us/message  messages/s/core  (%zu signed casts, one thread)\n", n);
  for (VerifyLevel level : {VerifyLevel::kOff, VerifyLevel::kHash, VerifyLevel::kSignature}) {
    const VerifyOptions opts{level, FARCASTER_NETWORK_MAINNET};
    size_t refused = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& p : payloads) refused += VerifyPayload(EntryKind::kMessage, p, opts).has_value();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (refused != 0) {
      std::fprintf(stderr, "verify_cost: %zu valid messages refused at %s\n", refused, VerifyLevelName(level));
      return 1;
    }
    std::printf("%-10s %10.2f  %15.0f\n", VerifyLevelName(level), secs * 1e6 / n, n / secs);
  }
  return 0;
}
