// Keccak-256 as Ethereum uses it (the original Keccak padding, not SHA3-256): a channel's
// id is keccak256 of its registry name (docs/channels-and-keys.md 1.4), and the node
// folds a CHANNEL_REGISTER only when its label is that hash of its channel key.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace waypoint::core {

std::array<uint8_t, 32> Keccak256(std::string_view data);

}  // namespace waypoint::core
