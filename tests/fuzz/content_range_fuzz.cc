// Fuzzes ParseContentRange (the Content-Range of a 206 or 416).
//
// Every input is parsed as a header value: an answer must satisfy the
// header's contract (first <= last < total, numbers at most 2^62, "*/*"
// never accepted) and must survive a round trip through its canonical form.
// The input is then also read as three numbers and a shape, to build values
// whose answer is known exactly.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fetch/content_range.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using hfm::ContentRange;
using hfm_fuzz::Escape;

constexpr uint64_t kMax = uint64_t{1} << 62;

std::string Show(const std::optional<ContentRange>& r) {
  if (!r) return "nullopt";
  std::string out = r->unsatisfied ? "unsatisfied" : std::to_string(r->first) + "-" + std::to_string(r->last);
  out += "/" + (r->total ? std::to_string(*r->total) : std::string("*"));
  return out;
}

std::string Canonical(const ContentRange& r) {
  std::string out = "bytes ";
  out += r.unsatisfied ? std::string("*") : std::to_string(r.first) + "-" + std::to_string(r.last);
  out += "/" + (r.total ? std::to_string(*r.total) : std::string("*"));
  return out;
}

bool Same(const std::optional<ContentRange>& a, const std::optional<ContentRange>& b) {
  if (!a || !b) return !a && !b;
  if (a->unsatisfied != b->unsatisfied || a->total != b->total) return false;
  return a->unsatisfied || (a->first == b->first && a->last == b->last);
}

void CheckArbitrary(std::string_view value) {
  const std::optional<ContentRange> r = hfm::ParseContentRange(value);
  if (!r) return;
  const std::string detail = Escape(value) + " -> " + Show(r);
  if (r->unsatisfied) {
    FUZZ_CHECK(r->total.has_value(), detail);  // "*/*" says nothing
  } else {
    FUZZ_CHECK(r->first <= r->last, detail);
    FUZZ_CHECK(!r->total || r->last < *r->total, detail);
    FUZZ_CHECK(r->last <= kMax, detail);
  }
  FUZZ_CHECK(!r->total || *r->total <= kMax, detail);
  const std::string canonical = Canonical(*r);
  FUZZ_CHECK(Same(hfm::ParseContentRange(canonical), r), detail + ", but its canonical form " +
                                                             Escape(canonical) + " parses differently");
}

void Expect(const std::string& value, const std::optional<ContentRange>& want) {
  const std::optional<ContentRange> got = hfm::ParseContentRange(value);
  FUZZ_CHECK(Same(got, want), Escape(value) + " -> " + Show(got) + ", expected " + Show(want));
}

// Mostly small numbers and numbers near the limits, where the bugs live.
uint64_t Number(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return in.ConsumeIntegralInRange<uint64_t>(0, 1000);
    case 1: return kMax - in.ConsumeIntegralInRange<uint64_t>(0, 3) + in.ConsumeIntegralInRange<uint64_t>(0, 3);
    case 2: return UINT64_MAX - in.ConsumeIntegralInRange<uint64_t>(0, 1000);
    default: return in.ConsumeIntegral<uint64_t>();
  }
}

void CheckBuilt(FuzzedDataProvider& in) {
  const uint64_t first = Number(in);
  const uint64_t last = Number(in);
  const uint64_t total = Number(in);
  const bool total_known = in.ConsumeBool();
  const std::string unit = in.ConsumeBool() ? "bytes" : "BYTES";
  const std::string total_text = total_known ? std::to_string(total) : "*";

  std::optional<ContentRange> want;
  if (first <= last && last <= kMax && (!total_known || (total <= kMax && last < total))) {
    ContentRange r;
    r.first = first;
    r.last = last;
    if (total_known) r.total = total;
    want = r;
  }
  Expect(unit + " " + std::to_string(first) + "-" + std::to_string(last) + "/" + total_text, want);
  Expect(" \t" + unit + "  " + std::to_string(first) + "-" + std::to_string(last) + "/" + total_text + "\t ",
         want);

  std::optional<ContentRange> unsatisfied;
  if (total_known && total <= kMax) {
    ContentRange r;
    r.unsatisfied = true;
    r.total = total;
    unsatisfied = r;
  }
  Expect(unit + " */" + total_text, unsatisfied);

  // Leading zeros keep the value, up to the 19 digits the parser reads.
  const std::string padded = "0" + std::to_string(first);
  if (padded.size() <= 19) {
    Expect(unit + " " + padded + "-" + std::to_string(last) + "/" + total_text, want);
  }
  // Signs, missing parts and other units are refused.
  Expect(unit + " -" + std::to_string(last) + "/" + total_text, std::nullopt);
  Expect(unit + " " + std::to_string(first) + "-/" + total_text, std::nullopt);
  Expect(unit + " +" + std::to_string(first) + "-" + std::to_string(last) + "/" + total_text, std::nullopt);
  Expect("items " + std::to_string(first) + "-" + std::to_string(last) + "/" + total_text, std::nullopt);
  Expect(unit + std::to_string(first) + "-" + std::to_string(last) + "/" + total_text, std::nullopt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckArbitrary(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  CheckBuilt(in);
  return 0;
}
