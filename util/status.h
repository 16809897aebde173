// Status: the outcome of an operation that can fail, and Result<T>, a value or
// a Status. Used at every layer boundary; no exception crosses a layer.
//
// Codes follow absl's meaning so callers can decide what to do without
// parsing messages:
//   kNotFound          the repo, revision or path does not exist (ENOENT)
//   kPermissionDenied  gated/private without access, bad token (EACCES)
//   kUnavailable       transient: network, 5xx, 429; retrying may help (EIO)
//   kDeadlineExceeded  a deadline passed before the work finished (EIO)
//   kDataLoss          bytes failed verification or were malformed (EIO)
//   kInvalidArgument   input we refuse to interpret (bad option, bad name)
//   kOutOfRange        a byte range past the end of a file
//   kResourceExhausted the cache is full; the caller may go on uncached
//   kInternal          a bug or an unexpected library error
// and three of the filesystem's, for an operation on the wrong kind of node:
//   kNotADirectory     a lookup or listing in a file (ENOTDIR)
//   kIsADirectory      an open of a directory (EISDIR)
//   kNotASymlink       a readlink of what is not a symlink (EINVAL)
//
// Thread safety: immutable values; safe to copy between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace hfm {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kPermissionDenied,
    kUnavailable,
    kDeadlineExceeded,
    kDataLoss,
    kInvalidArgument,
    kOutOfRange,
    kResourceExhausted,
    kInternal,
    kNotADirectory,
    kIsADirectory,
    kNotASymlink,
  };

  // OK holds no allocation, so success is free to return and copy.
  Status() = default;
  Status(Code code, std::string_view message);

  static Status Ok() { return Status(); }
  static Status NotFound(std::string_view m) { return {Code::kNotFound, m}; }
  static Status PermissionDenied(std::string_view m) { return {Code::kPermissionDenied, m}; }
  static Status Unavailable(std::string_view m) { return {Code::kUnavailable, m}; }
  static Status DeadlineExceeded(std::string_view m) { return {Code::kDeadlineExceeded, m}; }
  static Status DataLoss(std::string_view m) { return {Code::kDataLoss, m}; }
  static Status InvalidArgument(std::string_view m) { return {Code::kInvalidArgument, m}; }
  static Status OutOfRange(std::string_view m) { return {Code::kOutOfRange, m}; }
  static Status ResourceExhausted(std::string_view m) { return {Code::kResourceExhausted, m}; }
  static Status Internal(std::string_view m) { return {Code::kInternal, m}; }
  static Status NotADirectory(std::string_view m) { return {Code::kNotADirectory, m}; }
  static Status IsADirectory(std::string_view m) { return {Code::kIsADirectory, m}; }
  static Status NotASymlink(std::string_view m) { return {Code::kNotASymlink, m}; }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const;
  // "NotFound: <message>", or "OK".
  std::string ToString() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsPermissionDenied() const { return code() == Code::kPermissionDenied; }
  bool IsUnavailable() const { return code() == Code::kUnavailable; }
  bool IsDeadlineExceeded() const { return code() == Code::kDeadlineExceeded; }
  bool IsDataLoss() const { return code() == Code::kDataLoss; }

  // A new Status with the same code and "context: message".
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

const char* CodeName(Status::Code code);

// Result<T>: either a T or a non-OK Status (C++20 has no std::expected).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result built from OK status without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace hfm

// Propagate a non-OK Status to the caller.
#define HFM_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::hfm::Status hfm_status_ = (expr);      \
    if (!hfm_status_.ok()) return hfm_status_; \
  } while (0)
