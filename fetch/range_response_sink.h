// RangeResponseSink: turns one HTTP response to a ranged GET into bytes
// [pos, end) of a file, delivered in order to a RangeSink.
//   206: Content-Range must start at `pos` and state the file's size as the
//        total (else DataLoss, the transfer aborted); bytes past `end` abort.
//   200: the whole file follows (a server or CDN that ignored Range): bytes
//        before `pos` are skipped, [pos, end) delivered, then reading stops.
//        A Content-Length other than the file's size is DataLoss.
//   any other status: the (small) body is drained and dropped, up to 64 KiB
//        so a redirect's connection can be reused.
// The caller compares delivered() with end - pos to find a short body.
//
// Thread safety: one response at a time; the transport calls it from its own
// thread, the caller reads the results after Perform() returns.
#pragma once

#include <cstdint>
#include <functional>

#include "fetch/http_transport.h"
#include "fetch/hub_client.h"
#include "util/status.h"

namespace hfm {

class RangeResponseSink : public BodySink {
 public:
  // `out` is borrowed. REQUIRES: pos < end <= file_size.
  RangeResponseSink(uint64_t pos, uint64_t end, uint64_t file_size, RangeSink* out);

  // Called (on the transport's thread) once a 206 or 200 head is accepted,
  // before any byte: the location serves this file.
  void SetOnAccepted(std::function<void()> on_accepted) { on_accepted_ = std::move(on_accepted); }

  bool OnHead(const HttpResponseHead& head) override;
  bool OnData(const char* data, size_t len) override;

  // Bytes handed to `out`.
  uint64_t delivered() const { return next_ - pos_; }
  // `out` returned false: the caller asked to stop.
  bool sink_stopped() const { return sink_stopped_; }
  // DataLoss if the head contradicted the request; OK otherwise.
  const Status& status() const { return status_; }

 private:
  enum class Mode { kDrain, kPartial, kWhole };

  bool Deliver(const char* data, size_t len);

  const uint64_t pos_;
  const uint64_t end_;
  const uint64_t file_size_;
  RangeSink* const out_;
  Mode mode_ = Mode::kDrain;
  uint64_t skip_ = 0;     // kWhole: bytes still to drop before pos_
  uint64_t next_;         // file offset of the next byte to deliver
  uint64_t drained_ = 0;  // kDrain: bytes dropped
  bool sink_stopped_ = false;
  Status status_;
  std::function<void()> on_accepted_;
};

}  // namespace hfm
