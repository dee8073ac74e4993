#include "backfill.hpp"
namespace waypoint::sidecar {
BackfillWorker::BackfillWorker(const Config& cfg, Node* node, const std::atomic<bool>* stop) : cfg_(cfg), node_(node), stop_(stop) {}
void BackfillWorker::Run() {}
}  // namespace waypoint::sidecar
