#include "waypoint/core/errors.hpp"

namespace waypoint::core {

const char* ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kTransient: return "transient";
    case ErrorClass::kDecode: return "decode";
    case ErrorClass::kInvalid: return "invalid";
    case ErrorClass::kConfig: return "config";
  }
  return "unknown";
}

}  // namespace waypoint::core
