// App keys in a backfill (docs/sidecar.md, "Backfill mode"): the node serves no KEY_ADD
// messages, only the state of a fid's keys (GetSignersByFid: its on-chain signers, then
// its gasless ones). The off-chain Signers are written as entries of kind "signer"; the
// on-chain ones are left out, since the backfill reads the key registry's events
// themselves (GetOnChainEvents, SIGNER). A node without the read (UNIMPLEMENTED, before
// gasless keys) makes the backfill leave app keys out of its fid_start: the extension then
// reconciles none.
#include <spdlog/spdlog.h>

#include "backfill.hpp"
#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {

using core::Error;
using core::ErrorClass;

bool OffchainSigner(std::string_view bytes) {
  Signer s;
  return s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) && s.source() == SIGNER_SOURCE_OFFCHAIN;
}

bool BackfillWorker::ReadsSigners(uint64_t fid) {
  int served = signers_served_.load();
  if (served >= 0) return served == 1;
  SignersByFidRequest req;
  req.set_fid(fid);
  req.set_page_size(1);
  std::string raw;
  const grpc::Status s = node_->CallRaw("GetSignersByFid", req, &raw, stop_);
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    spdlog::warn("backfill: the node does not serve GetSignersByFid: app keys are left out of every backfill");
    signers_served_ = 0;
    return false;
  }
  // Any other answer: the node has the read (a failure here is the read's to retry).
  if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) signers_served_ = 1;
  return true;
}

void BackfillWorker::PageSigners(uint64_t fid, const RawCall& call, const PageWrite& write) {
  std::string token;
  while (true) {
    WaitWhilePaused();
    if (stop_->load()) throw Error(ErrorClass::kTransient, "interrupted by shutdown");
    SignersByFidRequest req;
    req.set_fid(fid);
    req.set_page_size(cfg_.page_size);
    if (!token.empty()) req.set_page_token(token);
    std::string raw, next;
    if (!call("GetSignersByFid", req, &raw)) return;  // NOT_FOUND: no keys
    std::vector<std::string> signers;
    if (!RepeatedBytes(raw, 1, &signers, &next, 2))
      throw Error(ErrorClass::kDecode, "GetSignersByFid: undecodable response");
    std::vector<std::string> offchain;
    for (auto& s : signers)
      if (OffchainSigner(s)) offchain.push_back(std::move(s));
    write(offchain);
    if (next.empty()) return;  // page until the token is unset (the last page may be empty)
    token = next;
  }
}

}  // namespace waypoint::sidecar
