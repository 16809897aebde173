// Fuzzes the tree listing parser (ParseTreePage) and the whole-listing checks
// (ValidateListing) against a reference model written from tree_parser.h.
//
// The first input byte picks the mode:
//   even: the rest is one tree page (JSON). ParseTreePage must fail exactly
//         when the text is not a JSON array, and otherwise return exactly the
//         entries the reference accepts, in order, with their sizes and hashes;
//         the result then goes through ValidateListing.
//   odd:  the rest is a listing, one entry per line ("d<path>" a directory,
//         any other first byte a file whose path is the rest of the line), fed
//         to ValidateListing directly, so that unsafe paths (which
//         ParseTreePage never lets through) reach it too.
// ValidateListing's output must be exactly the model's: the safe paths plus
// their parents, sorted, no duplicates, a directory wherever a path is also a
// parent, the first file of each remaining path.
// Both run under a ListingCharge of kFuzzListingCap, and the heap they hold
// at their peak (peak_memory.h) must stay under kPeakPerInputByte times the
// input plus kPeakConstant: a parser that builds the whole page as a DOM, or
// parents made before they are charged, fail it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetch/repo_path.h"
#include "fetch/tree_parser.h"
#include "fetch/listing_memory.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/peak_memory.h"
#include "util/log.h"

namespace hfm {
namespace {

using Json = nlohmann::json;
using hfm_fuzz::Escape;

constexpr std::string_view kContext = "fuzz/repo@0000000000000000000000000000000000000000";
constexpr uint64_t kFuzzListingCap = 64 << 10;
// The entries kept (a TreeEntry per ~30 input bytes, vector slack, the
// validation's copy and sort buffer) stay within a multiple of the input;
// the parents a listing implies are bounded by the charge, not the input.
constexpr size_t kPeakPerInputByte = 16;
constexpr size_t kPeakConstant = 4 * kFuzzListingCap;
constexpr size_t kMaxSkippedEntriesPerPage = 1000;  // tree_parser.h

std::string Describe(const TreeEntry& e) {
  std::string out = Escape(e.path) + (e.is_dir ? " dir" : " file");
  if (!e.is_dir) {
    out += " size=" + std::to_string(e.size) + " hash=" + e.hash.ToString() + (e.is_lfs ? " lfs" : "");
  }
  return out;
}

std::string DescribeAll(const std::vector<TreeEntry>& entries) {
  std::string out;
  for (const TreeEntry& e : entries) out += "  " + Describe(e) + "\n";
  return out;
}

// ---- reference model of one page entry (tree_parser.h) ----

enum class SizeCheck { kAbsent, kOk, kBad };

SizeCheck CheckSize(const Json& object, const char* key, uint64_t* out) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return SizeCheck::kAbsent;
  uint64_t value = 0;
  if (it->is_number_unsigned()) {
    value = it->get<uint64_t>();
  } else if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    if (v < 0) return SizeCheck::kBad;
    value = static_cast<uint64_t>(v);
  } else {
    return SizeCheck::kBad;  // float, string, bool, object, array
  }
  if (value > kMaxTreeEntrySize) return SizeCheck::kBad;
  *out = value;
  return SizeCheck::kOk;
}

const std::string* StringAt(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// True (and `out` filled) when the documented rules accept `item`. An
// invalid top-level `size` refuses the entry even when lfs.size is valid
// (the implementation reads `size` first; the Hub always sends both equal).
bool ReferenceAccepts(const Json& item, TreeEntry* out) {
  if (!item.is_object()) return false;
  const std::string* type = StringAt(item, "type");
  const std::string* path = StringAt(item, "path");
  if (type == nullptr || path == nullptr || !RepoPathProblem(*path).empty()) return false;
  out->path = *path;
  if (*type == "directory") {
    out->is_dir = true;
    return true;
  }
  if (*type != "file") return false;
  const SizeCheck top = CheckSize(item, "size", &out->size);
  if (top == SizeCheck::kBad) return false;
  bool have_size = top == SizeCheck::kOk;
  const auto lfs = item.find("lfs");
  if (lfs != item.end() && !lfs->is_null()) {
    if (!lfs->is_object()) return false;
    const std::string* oid = StringAt(*lfs, "oid");
    const auto hash = oid ? ContentHash::FromHex(ContentHash::Kind::kSha256, *oid) : std::nullopt;
    if (!hash) return false;
    out->hash = *hash;
    out->is_lfs = true;
    const SizeCheck lfs_size = CheckSize(*lfs, "size", &out->size);
    if (lfs_size == SizeCheck::kBad) return false;
    have_size = have_size || lfs_size == SizeCheck::kOk;
  } else {
    const std::string* oid = StringAt(item, "oid");
    const auto hash = oid ? ContentHash::FromHex(ContentHash::Kind::kGitSha1, *oid) : std::nullopt;
    if (!hash) return false;
    out->hash = *hash;
  }
  return have_size;
}

bool SameEntry(const TreeEntry& a, const TreeEntry& b) {
  if (a.path != b.path || a.is_dir != b.is_dir) return false;
  if (a.is_dir) return true;
  return a.size == b.size && a.hash == b.hash && a.is_lfs == b.is_lfs;
}

void CheckPage(std::string_view text, const Result<std::vector<TreeEntry>>& parsed) {
  const Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    FUZZ_CHECK(!parsed.ok(), "a page that is not a JSON array parsed as " + std::to_string(parsed->size()) +
                                 " entries");
    FUZZ_CHECK(parsed.status().IsDataLoss(), "not DataLoss: " + parsed.status().ToString());
    return;
  }
  std::vector<TreeEntry> expected;
  size_t skipped = 0;
  for (const Json& item : doc) {
    TreeEntry e;
    if (ReferenceAccepts(item, &e)) {
      expected.push_back(std::move(e));
    } else {
      ++skipped;
    }
  }
  if (!parsed.ok() && parsed.status().code() == Status::Code::kResourceExhausted) return;  // over the cap
  if (skipped > kMaxSkippedEntriesPerPage || (skipped > 0 && expected.empty())) {
    FUZZ_CHECK(!parsed.ok() && parsed.status().IsDataLoss(),
               "a page with " + std::to_string(skipped) + " unusable entries of " +
                   std::to_string(skipped + expected.size()) + " was not refused as DataLoss");
    return;
  }
  FUZZ_CHECK(parsed.ok(), "a JSON array was refused: " + parsed.status().ToString());
  const std::vector<TreeEntry>& got = *parsed;
  bool same = got.size() == expected.size();
  for (size_t i = 0; same && i < got.size(); ++i) same = SameEntry(got[i], expected[i]);
  FUZZ_CHECK(same, "ParseTreePage returned\n" + DescribeAll(got) + "the reference expected\n" +
                       DescribeAll(expected));
  for (const TreeEntry& e : got) {
    FUZZ_CHECK(RepoPathProblem(e.path).empty(), "unsafe path accepted: " + Describe(e));
    if (e.is_dir) continue;
    FUZZ_CHECK(e.size <= kMaxTreeEntrySize, Describe(e));
    FUZZ_CHECK(e.hash.kind() == (e.is_lfs ? ContentHash::Kind::kSha256 : ContentHash::Kind::kGitSha1),
               Describe(e));
  }
}

// ---- reference model of ValidateListing ----

// Independent of RepoPathProblem: no empty, "." or ".." segment, no NUL.
bool SegmentsAreSafe(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view seg = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

void CheckListing(const std::vector<TreeEntry>& input, const std::vector<TreeEntry>& got) {
  // Direct invariants first: they say what broke most plainly.
  for (size_t i = 0; i < got.size(); ++i) {
    const TreeEntry& e = got[i];
    FUZZ_CHECK(RepoPathProblem(e.path).empty(),
               "unsafe path kept: " + Describe(e) + " (" + std::string(RepoPathProblem(e.path)) + ")");
    FUZZ_CHECK(SegmentsAreSafe(e.path), "a path with an empty, '.' or '..' segment, or a NUL: " + Describe(e));
    if (i > 0) {
      FUZZ_CHECK(got[i - 1].path < e.path, "not sorted or a duplicate: " + Describe(got[i - 1]) + " then " +
                                               Describe(e));
    }
  }
  std::map<std::string_view, const TreeEntry*> by_path;
  for (const TreeEntry& e : got) by_path.emplace(e.path, &e);
  for (const TreeEntry& e : got) {
    const size_t slash = e.path.rfind('/');
    if (slash == std::string::npos) continue;
    const auto parent = by_path.find(std::string_view(e.path).substr(0, slash));
    FUZZ_CHECK(parent != by_path.end(), "parent of " + Describe(e) + " missing");
    FUZZ_CHECK(parent->second->is_dir, "parent of " + Describe(e) + " is a file");
  }

  // The exact model.
  std::set<std::string> dirs;
  std::vector<const TreeEntry*> safe;
  for (const TreeEntry& e : input) {
    if (!RepoPathProblem(e.path).empty()) continue;
    safe.push_back(&e);
    if (e.is_dir) dirs.insert(e.path);
    for (size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      dirs.insert(e.path.substr(0, slash));
    }
  }
  std::map<std::string, TreeEntry> expected;
  for (const std::string& d : dirs) {
    TreeEntry dir;
    dir.path = d;
    dir.is_dir = true;
    expected.emplace(d, dir);
  }
  for (const TreeEntry* e : safe) {
    if (!e->is_dir) expected.emplace(e->path, *e);  // the first file wins; a directory always wins
  }
  bool same = got.size() == expected.size();
  auto it = expected.begin();
  for (size_t i = 0; same && i < got.size(); ++i, ++it) same = SameEntry(got[i], it->second);
  if (!same) {
    std::vector<TreeEntry> want;
    for (const auto& [path, e] : expected) want.push_back(e);
    FUZZ_CHECK(same, "ValidateListing returned\n" + DescribeAll(got) + "the model expected\n" +
                         DescribeAll(want) + "for the input\n" + DescribeAll(input));
  }
}

std::vector<TreeEntry> LinesToEntries(std::string_view text) {
  std::vector<TreeEntry> out;
  uint32_t index = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    TreeEntry e;
    e.is_dir = !line.empty() && line.front() == 'd';
    if (!line.empty()) line.remove_prefix(1);
    e.path = std::string(line);
    if (!e.is_dir) {
      uint8_t digest[32] = {};
      for (int i = 0; i < 4; ++i) digest[i] = static_cast<uint8_t>(index >> (8 * i));
      e.hash = ContentHash(ContentHash::Kind::kGitSha1, digest);
      e.size = index;
    }
    ++index;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace
}  // namespace hfm

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hfm::SetLogLevel(hfm::LogLevel::kError);  // skipped entries log warnings: keep the fuzzer's output readable
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool lines = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  // A listing given as lines holds an entry per two bytes: its bound grows
  // with the entries, a page's with its JSON.
  const size_t per_byte = lines ? sizeof(hfm::TreeEntry) : hfm::kPeakPerInputByte;
  const size_t bound = per_byte * size + hfm::kPeakConstant;
  hfm::ListingCharge charge(nullptr, hfm::kFuzzListingCap, std::string(hfm::kContext));
  std::vector<hfm::TreeEntry> input;
  if (lines) {
    input = hfm::LinesToEntries(text);
  } else {
    hfm_fuzz::PeakMemory::Start();
    const auto parsed = hfm::ParseTreePage(text, hfm::kContext, &charge);
    const size_t peak = hfm_fuzz::PeakMemory::PeakSinceStart();
    FUZZ_CHECK(peak <= bound, "ParseTreePage held " + std::to_string(peak) + " bytes at its peak for " +
                                  std::to_string(size) + " input bytes");
    hfm::CheckPage(text, parsed);
    if (!parsed.ok()) return 0;
    input = *parsed;
  }
  std::vector<hfm::TreeEntry> listing = input;  // the model's copy of the input stays untouched
  // The input is already held: what counts is what validating it adds.
  hfm_fuzz::PeakMemory::Start();
  const auto validated = hfm::ValidateListing(std::move(listing), hfm::kContext, &charge);
  const size_t peak = hfm_fuzz::PeakMemory::PeakSinceStart();
  FUZZ_CHECK(peak <= bound, "ValidateListing added " + std::to_string(peak) + " bytes at its peak for " +
                                std::to_string(size) + " input bytes");
  if (!validated.ok()) {
    FUZZ_CHECK(validated.status().code() == hfm::Status::Code::kResourceExhausted,
               "ValidateListing failed: " + validated.status().ToString());
    return 0;
  }
  hfm::CheckListing(input, *validated);
  return 0;
}
