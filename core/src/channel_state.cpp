#include "waypoint/core/channel_state.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include "waypoint/core/errors.hpp"

namespace waypoint::core {

namespace {

using google::protobuf::internal::WireFormatLite;

void PutBytes(google::protobuf::io::CodedOutputStream& out, int field, const std::string& v) {
  out.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  out.WriteVarint32(static_cast<uint32_t>(v.size()));
  out.WriteString(v);
}

}  // namespace

std::string EncodeChannelState(const ChannelStatePayload& p) {
  std::string s;
  {
    google::protobuf::io::StringOutputStream zs(&s);
    google::protobuf::io::CodedOutputStream out(&zs);
    PutBytes(out, 1, p.channel_id);
    PutBytes(out, 2, p.metadata);
    PutBytes(out, 3, p.pin);
    for (const auto& m : p.member_pages) PutBytes(out, 4, m);
    for (const auto& m : p.moderation_pages) PutBytes(out, 5, m);
  }
  return s;
}

ChannelStatePayload DecodeChannelStatePayload(std::string_view bytes) {
  ChannelStatePayload p;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(bytes.size()) + 1);
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED || field < 1 || field > 5)
      throw Error(ErrorClass::kDecode, "channel_state payload: unexpected field " + std::to_string(field));
    uint32_t len = 0;
    std::string v;
    if (!in.ReadVarint32(&len) || !in.ReadString(&v, static_cast<int>(len)))
      throw Error(ErrorClass::kDecode, "channel_state payload: truncated field " + std::to_string(field));
    switch (field) {
      case 1: p.channel_id = std::move(v); break;
      case 2: p.metadata = std::move(v); break;
      case 3: p.pin = std::move(v); break;
      case 4: p.member_pages.push_back(std::move(v)); break;
      default: p.moderation_pages.push_back(std::move(v)); break;
    }
  }
  if (!in.ConsumedEntireMessage() && in.BytesUntilLimit() != 0)
    throw Error(ErrorClass::kDecode, "channel_state payload: trailing bytes");
  return p;
}

}  // namespace waypoint::core
