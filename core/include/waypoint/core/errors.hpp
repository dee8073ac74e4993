// Typed errors shared by the sidecar and the extension. Every error carries a class
// that decides its retry policy: transient errors are retried with backoff, permanent
// ones (bad input) go to the dead-letter stream instead of blocking the pipeline.
#pragma once

#include <stdexcept>
#include <string>

namespace waypoint::core {

enum class ErrorClass {
  kTransient,  // timeouts, unavailable dependencies: retry
  kDecode,     // bytes that are not the protobuf/entry they claim to be: dead-letter
  kInvalid,    // decodable but semantically unusable (missing body, bad field): dead-letter
  kConfig,     // bad configuration: refuse to start
};

const char* ErrorClassName(ErrorClass c);

class Error : public std::runtime_error {
 public:
  Error(ErrorClass cls, const std::string& what) : std::runtime_error(what), cls_(cls) {}
  ErrorClass cls() const { return cls_; }
  bool permanent() const { return cls_ == ErrorClass::kDecode || cls_ == ErrorClass::kInvalid; }

 private:
  ErrorClass cls_;
};

}  // namespace waypoint::core
