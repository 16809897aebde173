#include "fs/tree/meta_records.h"

#include <nlohmann/json.hpp>

namespace hfm {
namespace {

std::string RepoPart(const RepoId& repo) { return std::string(RepoKindPlural(repo.kind)) + "/" + repo.name; }

void PutOrigin(const MetadataOrigin& origin, nlohmann::json* doc) {
  (*doc)["from"] = origin.endpoint;
  (*doc)["trusted"] = origin.trusted;
}

// Absent or mistyped fields (an older version's record) leave it untrusted.
MetadataOrigin GetOrigin(const nlohmann::json& doc) {
  MetadataOrigin origin;
  if (doc.contains("from") && doc["from"].is_string()) origin.endpoint = doc["from"].get<std::string>();
  origin.trusted = doc.contains("trusted") && doc["trusted"].is_boolean() && doc["trusted"].get<bool>();
  return origin;
}

}  // namespace

std::string RevisionMetaKey(const RepoId& repo, const std::string& revision) {
  return std::string(kRevisionKeyPrefix) + RepoPart(repo) + "@" + revision;
}

std::string TreeMetaKey(const RepoId& repo, const std::string& commit) {
  return std::string(kTreeKeyPrefix) + RepoPart(repo) + "@" + commit;
}

std::string KnownRepoMetaKey(const RepoId& repo) { return std::string(kRepoKeyPrefix) + RepoPart(repo); }
std::string AccessMetaKey(const RepoId& repo) { return std::string(kAccessKeyPrefix) + RepoPart(repo); }

std::optional<std::pair<RepoId, std::string>> ParseMetaKey(std::string_view key) {
  const size_t at = key.find('@');
  std::string_view repo_part = key.substr(0, at);
  const size_t s1 = repo_part.find('/');
  if (s1 == std::string_view::npos) return std::nullopt;
  const std::string_view kind = repo_part.substr(0, s1);
  const std::string_view name = repo_part.substr(s1 + 1);
  const size_t s2 = name.find('/');
  if (s2 == std::string_view::npos || s2 == 0 || s2 + 1 == name.size() ||
      name.find('/', s2 + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const std::optional<RepoKind> repo_kind = RepoKindFromPlural(kind);
  if (!repo_kind) return std::nullopt;
  RepoId repo;
  repo.kind = *repo_kind;
  repo.name = std::string(name);
  return std::make_pair(std::move(repo), at == std::string_view::npos ? "" : std::string(key.substr(at + 1)));
}

std::string EncodeRevisionRecord(const RevisionRecord& record) {
  nlohmann::json doc{{"commit", record.commit}, {"at", record.at}};
  PutOrigin(record.origin, &doc);
  return doc.dump();
}

std::optional<RevisionRecord> DecodeRevisionRecord(std::string_view text) {
  auto rec = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!rec.is_object() || !rec.contains("commit") || !rec["commit"].is_string() || !rec.contains("at") ||
      !rec["at"].is_number_integer()) {
    return std::nullopt;
  }
  RevisionRecord out{rec["commit"].get<std::string>(), rec["at"].get<int64_t>(), GetOrigin(rec)};
  if (!IsCommitId(out.commit)) return std::nullopt;
  return out;
}

std::string EncodeListing(const Snapshot& snap, const MetadataOrigin& origin) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : snap.ToTreeEntries()) {
    if (e.is_dir) {
      entries.push_back({e.path, 1});
    } else {
      entries.push_back({e.path, 0, e.size, static_cast<int>(e.hash.kind()), e.hash.ToHex(), e.is_lfs});
    }
  }
  nlohmann::json doc = {{"v", 1}, {"first_seen", snap.first_seen()}, {"entries", std::move(entries)}};
  PutOrigin(origin, &doc);
  return doc.dump();
}

std::optional<DecodedListing> DecodeListing(std::string_view text) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("v", 0) != 1 || !doc.contains("entries")) return std::nullopt;
  try {
    DecodedListing out;
    for (const auto& item : doc["entries"]) {
      TreeEntry e;
      e.path = item.at(0).get<std::string>();
      if (item.at(1).get<int>() == 1) {
        e.is_dir = true;
      } else {
        e.size = item.at(2).get<uint64_t>();
        auto kind = static_cast<ContentHash::Kind>(item.at(3).get<int>());
        auto hash = ContentHash::FromHex(kind, item.at(4).get<std::string>());
        if (!hash) return std::nullopt;
        e.hash = *hash;
        e.is_lfs = item.at(5).get<bool>();
      }
      out.entries.push_back(std::move(e));
    }
    out.first_seen = doc.value("first_seen", int64_t{0});
    out.origin = GetOrigin(doc);
    return out;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace hfm
