// Progress: what a long command says while it works. On a terminal, one line
// redrawn in place (a bar, bytes, rate, ETA); otherwise a plain line now and
// then, fit for a log.
//
// Thread safety: Update() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "util/mutex.h"

namespace hfm::cli {

// "1.5 GiB", "12.0 MiB", "512 B".
std::string HumanBytes(double bytes);
// "1:02:03", "2:03", "0:05"; "?" when unknown.
std::string HumanDuration(double seconds);

// One line of progress: `done` of `total` bytes after `elapsed` seconds,
// with a bar `width` characters wide (0: none).
std::string ProgressLine(const std::string& what, uint64_t done, uint64_t total, double elapsed, int width);

class Progress {
 public:
  // `tty`: redraw in place on `out`; else print a line at most every
  // `interval` seconds.
  Progress(std::FILE* out, bool tty, std::string what, uint64_t total, double interval = 5.0);
  void Update(uint64_t done);
  // The final line (always printed).
  void Finish(uint64_t done);

 private:
  double Elapsed() const;

  std::FILE* const out_;
  const bool tty_;
  const std::string what_;
  const uint64_t total_;
  const double interval_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  Mutex mu_;
  double last_print_ GUARDED_BY(mu_) = -1;
};

}  // namespace hfm::cli
