// The payload of a channel_state entry (core/entry.hpp): one registered channel's state as
// a backfill read it, made of the node's own response bytes, untouched, in a wrapper of
// ours (protobuf wire format, our field numbers; not a node message):
//   1 channel_id (bytes, 32)
//   2 ChannelMetadataResponse bytes (GetChannelMetadata)
//   3 ChannelPinResponse bytes (GetChannelPin)
//   4 ChannelMembersResponse bytes, one per page, in page order (GetChannelMembers, every state)
//   5 ChannelModerationsResponse bytes, one per page, in page order (GetChannelModerations)
// The sidecar writes it (sidecar/src/backfill_channels.cpp); core::DecodeStreamEntry turns
// it into a ChannelStateRow (core/rows.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace waypoint::core {

struct ChannelStatePayload {
  std::string channel_id;
  std::string metadata;
  std::string pin;
  std::vector<std::string> member_pages;
  std::vector<std::string> moderation_pages;
};

std::string EncodeChannelState(const ChannelStatePayload& p);
// Throws core::Error(kDecode) when the bytes are not such a wrapper.
ChannelStatePayload DecodeChannelStatePayload(std::string_view bytes);

}  // namespace waypoint::core
