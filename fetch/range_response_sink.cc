#include "fetch/range_response_sink.h"

#include <algorithm>
#include <string>

#include "fetch/content_range.h"
#include "fetch/log_text.h"

namespace hfm {
namespace {

constexpr uint64_t kMaxDrainBytes = 64 << 10;

std::optional<uint64_t> ParseLength(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

RangeResponseSink::RangeResponseSink(uint64_t pos, uint64_t end, uint64_t file_size, RangeSink* out)
    : pos_(pos), end_(end), file_size_(file_size), out_(out), next_(pos) {}

bool RangeResponseSink::OnHead(const HttpResponseHead& head) {
  if (head.status == 206) {
    const std::string value = head.Header("content-range");
    const auto range = ParseContentRange(value);
    if (!range || range->unsatisfied) {
      status_ = Status::DataLoss("206 with an unusable Content-Range \"" + LogSafe(value, 100) + "\"");
      return false;
    }
    if (range->first != pos_) {
      status_ = Status::DataLoss("206 Content-Range starts at byte " + std::to_string(range->first) +
                                 ", expected " + std::to_string(pos_));
      return false;
    }
    if (!range->total || *range->total != file_size_) {
      status_ = Status::DataLoss(
          "206 Content-Range states file size " +
          (range->total ? std::to_string(*range->total) : std::string("*")) + ", expected " +
          std::to_string(file_size_));
      return false;
    }
    mode_ = Mode::kPartial;
    if (on_accepted_) on_accepted_();
    return true;
  }
  if (head.status == 200) {
    if (head.HasHeader("content-length")) {
      const auto length = ParseLength(head.Header("content-length"));
      if (length && *length != file_size_) {
        status_ = Status::DataLoss("200 body of " + std::to_string(*length) + " bytes, expected file size " +
                                   std::to_string(file_size_));
        return false;
      }
    }
    mode_ = Mode::kWhole;
    skip_ = pos_;
    if (on_accepted_) on_accepted_();
    return true;
  }
  mode_ = Mode::kDrain;
  return true;
}

bool RangeResponseSink::OnData(const char* data, size_t len) {
  switch (mode_) {
    case Mode::kDrain:
      drained_ += len;
      return drained_ <= kMaxDrainBytes;
    case Mode::kWhole: {
      const uint64_t dropped = std::min<uint64_t>(skip_, len);
      skip_ -= dropped;
      data += dropped;
      len -= static_cast<size_t>(dropped);
      if (len == 0) return true;
      // Stop reading the rest of the file once the range is complete.
      return Deliver(data, len) && next_ < end_;
    }
    case Mode::kPartial:
      // Reaching end_ exactly keeps the transfer going so the connection
      // stays reusable; more bytes than asked for abort it.
      if (next_ >= end_) return false;
      return Deliver(data, len);
  }
  return false;
}

bool RangeResponseSink::Deliver(const char* data, size_t len) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(len, end_ - next_));
  if (n > 0) {
    if (!out_->OnBytes(data, n)) {
      sink_stopped_ = true;
      next_ += n;
      return false;
    }
    next_ += n;
  }
  return n == len;
}

}  // namespace hfm
