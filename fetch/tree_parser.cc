#include "fetch/tree_parser.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "fetch/listing_memory.h"
#include "fetch/log_text.h"
#include "fetch/repo_path.h"
#include "util/log.h"

namespace hfm {
namespace {

using Json = nlohmann::json;

constexpr int kMaxWarningsPerCall = 100;
// A page with more unusable entries than this is broken, not merely odd.
constexpr size_t kMaxSkippedEntriesPerPage = 1000;

// One warning per skipped entry, up to a cap; the rest are counted and
// reported in one line when the call ends.
class SkipLogger {
 public:
  explicit SkipLogger(std::string_view context) : context_(context) {}
  ~SkipLogger() {
    if (skipped_ > kMaxWarningsPerCall) {
      LogWarning(std::string(context_) + ": " + std::to_string(skipped_ - kMaxWarningsPerCall) +
                 " more tree entries skipped");
    }
  }
  SkipLogger(const SkipLogger&) = delete;
  SkipLogger& operator=(const SkipLogger&) = delete;

  void Skip(std::string_view path, std::string_view reason) {
    if (++skipped_ > kMaxWarningsPerCall) return;
    LogWarning(std::string(context_) + ": skipping tree entry \"" + LogSafe(path) + "\": " +
               std::string(reason));
  }

 private:
  std::string_view context_;
  int skipped_ = 0;
};

// Reads a byte count; returns why it is unusable, or "" on success.
std::string_view ReadSize(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    const uint64_t size = v.get<uint64_t>();
    if (size > kMaxTreeEntrySize) return "size over 2 TiB";
    *out = size;
    return {};
  }
  if (v.is_number_integer()) {
    const int64_t size = v.get<int64_t>();
    if (size < 0) return "negative size";
    if (static_cast<uint64_t>(size) > kMaxTreeEntrySize) return "size over 2 TiB";
    *out = static_cast<uint64_t>(size);
    return {};
  }
  if (v.is_number_float()) return "non-integer size";
  return "size is not a number";
}

const std::string* StringField(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// Fills `out` from one JSON entry; returns why it was refused, or "".
std::string_view ParseEntry(const Json& entry, TreeEntry* out) {
  if (!entry.is_object()) return "entry is not a JSON object";
  const std::string* type = StringField(entry, "type");
  if (type == nullptr) return "missing or non-string type";
  const std::string* path = StringField(entry, "path");
  if (path == nullptr) return "missing or non-string path";
  const std::string_view problem = RepoPathProblem(*path);
  if (!problem.empty()) return problem;
  out->path = *path;
  if (*type == "directory") {
    out->is_dir = true;
    return {};
  }
  if (*type != "file") return "unknown type";

  bool have_size = false;
  const auto size_it = entry.find("size");
  if (size_it != entry.end() && !size_it->is_null()) {
    const std::string_view why = ReadSize(*size_it, &out->size);
    if (!why.empty()) return why;
    have_size = true;
  }
  const auto lfs_it = entry.find("lfs");
  if (lfs_it != entry.end() && !lfs_it->is_null()) {
    if (!lfs_it->is_object()) return "lfs is not an object";
    const std::string* oid = StringField(*lfs_it, "oid");
    const auto hash = oid ? ContentHash::FromHex(ContentHash::Kind::kSha256, *oid) : std::nullopt;
    if (!hash) return "lfs.oid is not 64 hex digits";
    out->hash = *hash;
    out->is_lfs = true;
    // lfs.size is the content's size by definition; `size` should agree.
    const auto lfs_size_it = lfs_it->find("size");
    if (lfs_size_it != lfs_it->end() && !lfs_size_it->is_null()) {
      const std::string_view why = ReadSize(*lfs_size_it, &out->size);
      if (!why.empty()) return why;
      have_size = true;
    }
  } else {
    const std::string* oid = StringField(entry, "oid");
    const auto hash = oid ? ContentHash::FromHex(ContentHash::Kind::kGitSha1, *oid) : std::nullopt;
    if (!hash) return "oid is not 40 hex digits";
    out->hash = *hash;
  }
  if (!have_size) return "missing size";
  return {};
}

// Decides, event by event, what of a page nlohmann's parser may build: one
// entry at a time, and of an entry only the members ParseEntry reads
// (nested values keep their type but lose their contents), so that memory
// follows the entries kept, not the JSON. Depths as the parser counts them:
// 0 the page, 1 an entry, 2 an entry's members, 3 inside lfs.
class PageFilter {
 public:
  PageFilter(std::string_view context, ListingCharge* charge, std::vector<TreeEntry>* out)
      : context_(context), skips_(context), charge_(charge), out_(out) {}

  bool OnEvent(int depth, nlohmann::json::parse_event_t event, Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (!stopped_.ok()) return false;  // the rest of the page is only scanned
    if (depth == 0) {
      if (event == Event::array_start) is_array_ = true;
      return event == Event::array_start || event == Event::array_end;
    }
    if (depth == 1) return OnEntryEvent(event, parsed);
    if (depth == 2) {
      // A member's value starts after its key. A skipped member's value
      // reports its start but not its end, so the flag resets here.
      if (event == Event::key) {
        in_member_array_ = false;
        return IsEntryKey(parsed);
      }
      if (event == Event::array_start) in_member_array_ = true;
      if (event == Event::array_end) in_member_array_ = false;
      return true;
    }
    if (depth == 3 && !in_member_array_) {
      if (event == Event::key) return parsed == "oid" || parsed == "size";
      return true;  // lfs.oid, lfs.size, or an empty shell of a nested value
    }
    return false;
  }

  // What the page amounts to once the parser is done.
  Status Finish(bool syntax_error) {
    if (syntax_error) return Status::DataLoss(std::string(context_) + ": tree page is not valid JSON");
    if (!is_array_) return Status::DataLoss(std::string(context_) + ": tree page is not a JSON array");
    if (!stopped_.ok()) return stopped_;
    if (skipped_ > 0 && out_->empty()) {
      return Status::DataLoss(std::string(context_) + ": every one of the " + std::to_string(skipped_) +
                              " entries of a tree page was unusable");
    }
    return Status::Ok();
  }

 private:
  static bool IsEntryKey(const Json& key) {
    return key == "type" || key == "path" || key == "size" || key == "oid" || key == "lfs";
  }

  bool OnEntryEvent(nlohmann::json::parse_event_t event, const Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) return true;
    if (event == Event::key) return true;
    if (event == Event::object_end) {
      TreeEntry entry;
      const std::string_view why = ParseEntry(parsed, &entry);
      if (why.empty()) {
        Keep(std::move(entry));
      } else {
        const std::string* path = StringField(parsed, "path");
        Skip(path ? std::string_view(*path) : std::string_view("?"), why);
      }
    } else {
      Skip("?", "entry is not a JSON object");  // an array (not built) or a scalar
    }
    return false;  // the entry's JSON is dropped either way
  }

  void Keep(TreeEntry entry) {
    Status st = charge_->AddPath(entry.path.size());
    if (!st.ok()) {
      stopped_ = std::move(st);
      return;
    }
    out_->push_back(std::move(entry));
  }

  void Skip(std::string_view path, std::string_view why) {
    skips_.Skip(path, why);
    if (++skipped_ > kMaxSkippedEntriesPerPage) {
      stopped_ = Status::DataLoss(std::string(context_) + ": more than " +
                                  std::to_string(kMaxSkippedEntriesPerPage) +
                                  " unusable entries in one tree page; the listing is broken");
      LogWarning(stopped_.message());
    }
  }

  std::string_view context_;
  SkipLogger skips_;
  ListingCharge* charge_;
  std::vector<TreeEntry>* out_;
  bool is_array_ = false;
  bool in_member_array_ = false;
  size_t skipped_ = 0;
  Status stopped_;
};

// ValidateListing's steps.

// Orders paths segment by segment ('/' below every other byte), so that a
// directory's whole subtree follows it without a gap; at one path a
// directory comes before files.
bool SegmentOrder(const TreeEntry& a, const TreeEntry& b) {
  const auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
  const size_t n = std::min(a.path.size(), b.path.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.path[i] != b.path[i]) return rank(a.path[i]) < rank(b.path[i]);
  }
  if (a.path.size() != b.path.size()) return a.path.size() < b.path.size();
  return a.is_dir && !b.is_dir;
}

std::string_view ParentPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

// True when `dir` ("" = the root) is `path` or one of its ancestors.
bool Encloses(std::string_view dir, std::string_view path) {
  if (dir.empty()) return true;
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

// Drops the entries whose paths are unsafe (see repo_path.h), in place.
void DropUnsafePaths(std::vector<TreeEntry>* entries, SkipLogger* skips) {
  const auto unsafe = std::remove_if(entries->begin(), entries->end(), [skips](const TreeEntry& e) {
    const std::string_view problem = RepoPathProblem(e.path);
    if (!problem.empty()) skips->Skip(e.path, problem);
    return !problem.empty();
  });
  entries->erase(unsafe, entries->end());
}

// Walks a listing in SegmentOrder and emits what the listing keeps, with the
// parents it lacks made just before their first descendant. `open_dir_` is
// the deepest directory emitted whose subtree the walk is still in.
class ListingWalk {
 public:
  ListingWalk(ListingCharge* charge, SkipLogger* skips) : charge_(charge), skips_(skips) {}

  // `next` is the entry after `e` in SegmentOrder, if any.
  Status Visit(TreeEntry* e, const TreeEntry* next, std::vector<TreeEntry>* out) {
    if (!out->empty() && out->back().path == e->path) {
      skips_->Skip(e->path, out->back().is_dir && !e->is_dir ? "a file at a path that is also a directory"
                                                              : "duplicate path");
      return Status::Ok();
    }
    if (!e->is_dir && next != nullptr && next->path.size() > e->path.size() && Encloses(e->path, next->path)) {
      skips_->Skip(e->path, "a file at a path that is also a directory");
      return Status::Ok();
    }
    const std::string_view parent = ParentPath(e->path);
    while (!Encloses(open_dir_, parent)) open_dir_.resize(ParentPath(open_dir_).size());
    HFM_RETURN_IF_ERROR(AddMissingParents(parent, out));
    open_dir_ = e->is_dir ? e->path : std::string(parent);
    out->push_back(std::move(*e));
    return Status::Ok();
  }

  size_t synthesized() const { return synthesized_; }

 private:
  // Emits every ancestor-or-self of `parent` deeper than open_dir_,
  // shallowest first, each charged before it is made.
  Status AddMissingParents(std::string_view parent, std::vector<TreeEntry>* out) {
    size_t from = open_dir_.empty() ? 0 : open_dir_.size() + 1;
    while (from < parent.size() + 1 && !parent.empty()) {
      size_t end = parent.find('/', from);
      if (end == std::string_view::npos) end = parent.size();
      HFM_RETURN_IF_ERROR(charge_->AddPath(end));
      TreeEntry dir;
      dir.path = std::string(parent.substr(0, end));
      dir.is_dir = true;
      out->push_back(std::move(dir));
      ++synthesized_;
      from = end + 1;
    }
    return Status::Ok();
  }

  ListingCharge* charge_;
  SkipLogger* skips_;
  std::string open_dir_;
  size_t synthesized_ = 0;
};

}  // namespace

Result<std::vector<TreeEntry>> ParseTreePage(std::string_view json_text, std::string_view log_context,
                                             ListingCharge* charge) {
  ListingCharge own_charge(nullptr, kDefaultListingCap, std::string(log_context));
  if (charge == nullptr) charge = &own_charge;
  std::vector<TreeEntry> out;
  PageFilter filter(log_context, charge, &out);
  // nlohmann throws on allocation failure and type misuse; nothing may
  // escape this layer as an exception.
  try {
    const Json doc = Json::parse(
        json_text.begin(), json_text.end(),
        [&filter](int depth, nlohmann::json::parse_event_t event, Json& parsed) {
          return filter.OnEvent(depth, event, parsed);
        },
        /*allow_exceptions=*/false);
    HFM_RETURN_IF_ERROR(filter.Finish(doc.is_discarded()));
    return out;
  } catch (const std::exception& e) {
    return Status::DataLoss(std::string(log_context) + ": tree page could not be parsed: " + e.what());
  }
}


Result<std::vector<TreeEntry>> ValidateListing(std::vector<TreeEntry> entries, std::string_view log_context,
                                               ListingCharge* charge) {
  ListingCharge own_charge(nullptr, kDefaultListingCap, std::string(log_context));
  if (charge == nullptr) charge = &own_charge;
  SkipLogger skips(log_context);
  DropUnsafePaths(&entries, &skips);
  // Stable: of two files at one path the first listed wins.
  std::stable_sort(entries.begin(), entries.end(), SegmentOrder);
  std::vector<TreeEntry> out;
  out.reserve(entries.size());
  ListingWalk walk(charge, &skips);
  size_t next = 0;  // the first entry after entries[i] with another path
  for (size_t i = 0; i < entries.size(); ++i) {
    if (next <= i) {
      next = i + 1;
      while (next < entries.size() && entries[next].path == entries[i].path) ++next;
    }
    HFM_RETURN_IF_ERROR(walk.Visit(&entries[i], next < entries.size() ? &entries[next] : nullptr, &out));
  }
  if (walk.synthesized() > 0) {
    LogWarning(std::string(log_context) + ": listing lacked " + std::to_string(walk.synthesized()) +
               " parent directories; added them");
  }
  std::sort(out.begin(), out.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace hfm
