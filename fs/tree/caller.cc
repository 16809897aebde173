#include "fs/tree/caller.h"

namespace hfm {
namespace {

thread_local std::optional<Caller> current_caller;

}  // namespace

std::optional<Caller> CurrentCaller() { return current_caller; }

CallerScope::CallerScope(std::optional<Caller> caller) : previous_(current_caller) { current_caller = caller; }

CallerScope::~CallerScope() { current_caller = previous_; }

}  // namespace hfm
