// Caller: the local user a filesystem request is for, as the FUSE request
// says (fuse_req_ctx). Only the access gate (access_gate.h) reads it, and only
// under -o per_user_token; everything else serves all callers alike.
//
// HubFilesystem sets it for the span of one request with a CallerScope, so
// that it reaches the gate through the subtrees without widening every
// interface on the way. Work on other threads (prefetch, hashing) runs as
// the mount.
//
// Thread safety: a CallerScope affects its own thread only.
#pragma once

#include <cstdint>
#include <optional>

namespace hfm {

struct Caller {
  uint32_t uid = 0;
};

// The caller of the request this thread serves; nullopt: the mount itself
// (the CLI, tests, internal work).
std::optional<Caller> CurrentCaller();

// Sets the thread's caller until destroyed (restoring the previous one).
class CallerScope {
 public:
  explicit CallerScope(std::optional<Caller> caller);
  ~CallerScope();
  CallerScope(const CallerScope&) = delete;
  CallerScope& operator=(const CallerScope&) = delete;

 private:
  std::optional<Caller> previous_;
};

}  // namespace hfm
