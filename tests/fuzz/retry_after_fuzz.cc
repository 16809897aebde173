// Fuzzes the parsers of the waits a server asks for (fetch/retry_after.h):
// ParseRetryAfter, ParseRateLimit and ServerRequestedWait.
//
// Every input is parsed as a Retry-After and as a RateLimit value: an answer
// is a whole number of seconds between 0 and kMaxServerWait, and a later
// "now" never makes a date's wait longer. The input also drives builders whose
// answer is known: delta-seconds, the three HTTP-date forms (written with
// strftime from a random instant), RateLimit lists of policies with quoted
// names holding ',', ';', '=' and escapes (the answer: the largest t among
// r=0 policies, else the smallest t), the older limit/remaining/reset form, and
// response heads (only 429 and 503 ask for a wait: the larger of the two).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "fetch/retry_after.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using hfm::Duration;
using hfm_fuzz::Escape;

constexpr int64_t kMaxWait = std::chrono::duration_cast<std::chrono::seconds>(hfm::kMaxServerWait).count();
// Wall clocks the daemon can see: 1970 .. 2100.
constexpr int64_t kLatestNow = 4102444800;

std::string Show(const std::optional<Duration>& d) {
  if (!d) return "nullopt";
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*d).count()) + " ms";
}

std::optional<Duration> Seconds(int64_t s) { return std::chrono::seconds(std::clamp<int64_t>(s, 0, kMaxWait)); }

void CheckRange(const std::optional<Duration>& d, const std::string& what) {
  if (!d) return;
  FUZZ_CHECK(*d >= Duration::zero() && *d <= hfm::kMaxServerWait, what + " -> " + Show(d));
  FUZZ_CHECK(*d % std::chrono::seconds(1) == Duration::zero(), what + " -> " + Show(d) + ": not whole seconds");
}

void Expect(const std::optional<Duration>& got, const std::optional<Duration>& want, const std::string& what) {
  FUZZ_CHECK(got == want, what + " -> " + Show(got) + ", expected " + Show(want));
}

// ---- arbitrary text ----

void CheckArbitrary(std::string_view text, int64_t now) {
  const auto r = hfm::ParseRetryAfter(text, now);
  CheckRange(r, "Retry-After " + Escape(text) + " at " + std::to_string(now));
  if (r) {
    // A later clock can only shorten the wait (delta-seconds do not move).
    const auto later = hfm::ParseRetryAfter(text, now + 1000);
    FUZZ_CHECK(later && *later <= *r, "Retry-After " + Escape(text) + ": " + Show(r) + " at " +
                                          std::to_string(now) + " but " + Show(later) + " 1000 s later");
  }
  CheckRange(hfm::ParseRateLimit(text), "RateLimit " + Escape(text));
}

// ---- Retry-After ----

std::string Format(const char* format, int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);  // "C" locale: English names
  return std::string(buf, n);
}

void CheckRetryAfterBuilt(FuzzedDataProvider& in, int64_t now) {
  const uint64_t delta = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 2000) : in.ConsumeIntegral<uint64_t>();
  const std::string digits = std::to_string(delta);
  const auto capped = Seconds(static_cast<int64_t>(std::min<uint64_t>(delta, kMaxWait)));
  Expect(hfm::ParseRetryAfter(digits, now), capped, "Retry-After " + Escape(digits));
  Expect(hfm::ParseRetryAfter(" \t" + digits + "\t ", now), capped, "Retry-After " + Escape(digits) + " padded");
  // Long runs of digits saturate instead of overflowing.
  const std::string many = digits + std::string(in.ConsumeIntegralInRange<size_t>(0, 40), '9');
  FUZZ_CHECK(hfm::ParseRetryAfter(many, now).has_value(), "Retry-After " + Escape(many));

  // Dates near "now" (where the answer is not just 0 or the cap) and anywhere in 1970..2069.
  const int64_t when = in.ConsumeBool() ? now + in.ConsumeIntegralInRange<int64_t>(-2000, 2000)
                                        : in.ConsumeIntegralInRange<int64_t>(0, 3155759999);  // < 2070
  if (when < 0 || when > 3155759999) return;
  const auto want = Seconds(when - now);
  const std::string imf = Format("%a, %d %b %Y %H:%M:%S GMT", when);
  const std::string rfc850 = Format("%A, %d-%b-%y %H:%M:%S GMT", when);
  const std::string asctime = Format("%a %b %e %H:%M:%S %Y", when);
  Expect(hfm::ParseRetryAfter(imf, now), want, "IMF-fixdate " + Escape(imf) + " at " + std::to_string(now));
  Expect(hfm::ParseRetryAfter(rfc850, now), want, "RFC 850 date " + Escape(rfc850) + " at " + std::to_string(now));
  Expect(hfm::ParseRetryAfter(asctime, now), want, "asctime date " + Escape(asctime) + " at " + std::to_string(now));
}

// ---- RateLimit ----

std::string Quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

uint64_t SmallOrHuge(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return 0;
    case 1: return in.ConsumeIntegralInRange<uint64_t>(1, 700);
    case 2: return in.ConsumeIntegralInRange<uint64_t>(0, 5);
    default: return in.ConsumeIntegral<uint64_t>();
  }
}

void CheckRateLimitBuilt(FuzzedDataProvider& in) {
  const int n = in.ConsumeIntegralInRange<int>(0, 6);
  std::string header;
  std::optional<uint64_t> exhausted_max, any_min;
  for (int i = 0; i < n; ++i) {
    const std::string name = in.ConsumeRandomLengthString(16);
    const bool has_r = in.ConsumeBool();
    const bool has_t = in.ConsumeBool();
    const uint64_t r = SmallOrHuge(in);
    const uint64_t t = SmallOrHuge(in);
    const std::string sp = in.ConsumeBool() ? " " : "";
    std::string member = in.ConsumeBool() ? Quoted(name) : std::string();
    if (has_r) member += sp + ";" + sp + (in.ConsumeBool() ? "r" : "R") + "=" + std::to_string(r);
    if (has_t) member += sp + ";" + sp + "t=" + std::to_string(t);
    header += (i ? "," + sp : std::string()) + member;
    if (has_t) {
      if (has_r && r == 0) exhausted_max = std::max(exhausted_max.value_or(0), t);
      any_min = std::min(any_min.value_or(t), t);
    }
  }
  std::optional<Duration> want;
  if (any_min) want = Seconds(static_cast<int64_t>(std::min<uint64_t>(exhausted_max ? *exhausted_max : *any_min, kMaxWait)));
  Expect(hfm::ParseRateLimit(header), want, "RateLimit " + Escape(header));

  // The older form: one dictionary.
  const uint64_t remaining = SmallOrHuge(in);
  const uint64_t reset = SmallOrHuge(in);
  const std::string legacy = "limit=500, remaining=" + std::to_string(remaining) + ", reset=" + std::to_string(reset);
  Expect(hfm::ParseRateLimit(legacy), Seconds(static_cast<int64_t>(std::min<uint64_t>(reset, kMaxWait))),
         "RateLimit " + Escape(legacy));
}

// ---- ServerRequestedWait ----

void CheckServerRequestedWait(FuzzedDataProvider& in, int64_t now) {
  static const int kStatuses[] = {429, 503, 200, 206, 404, 500};
  hfm::HttpResponseHead head;
  head.status = kStatuses[in.ConsumeIntegralInRange<size_t>(0, 5)];
  std::optional<std::string> first_retry_after;
  std::string rate_limit;
  const int lines = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < lines; ++i) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 2);
    const std::string value = in.ConsumeRandomLengthString(64);
    if (kind == 0) {
      head.headers.emplace_back("retry-after", value);
      if (!first_retry_after) first_retry_after = value;
    } else if (kind == 1) {
      head.headers.emplace_back("ratelimit", value);
      rate_limit += (rate_limit.empty() ? "" : ",") + value;
    } else {
      head.headers.emplace_back("x-other", value);
    }
  }
  std::optional<Duration> want;
  if (head.status == 429 || head.status == 503) {
    for (const auto& d : {first_retry_after ? hfm::ParseRetryAfter(*first_retry_after, now) : std::nullopt,
                          rate_limit.empty() ? std::nullopt : hfm::ParseRateLimit(rate_limit)}) {
      if (d) want = std::max(want.value_or(Duration::zero()), *d);
    }
  }
  const auto got = hfm::ServerRequestedWait(head, now);
  std::string what = "status " + std::to_string(head.status);
  for (const auto& [k, v] : head.headers) what += ", " + k + ": " + Escape(v);
  Expect(got, want, what);
  CheckRange(got, what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int64_t now = in.ConsumeIntegralInRange<int64_t>(0, kLatestNow);
  CheckArbitrary(std::string_view(reinterpret_cast<const char*>(data), size), now);
  CheckRetryAfterBuilt(in, now);
  CheckRateLimitBuilt(in);
  CheckServerRequestedWait(in, now);
  return 0;
}
