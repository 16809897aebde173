#include "fetch/hub_urls.h"

#include "fetch/url.h"

namespace hfm {
namespace {

constexpr size_t kMaxRepoNamePart = 96;

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string_view NamePartProblem(std::string_view part) {
  if (part.empty()) return "empty part in repo id";
  if (part.size() > kMaxRepoNamePart) return "repo id part over 96 characters";
  if (part == "." || part == "..") return "'.' or '..' in repo id";
  for (char c : part) {
    if (!IsNameChar(c)) return "repo id may only hold letters, digits, '-', '_', '.' and one '/'";
  }
  return {};
}

std::string ApiRepoBase(std::string_view endpoint, const RepoId& repo) {
  std::string url(endpoint);
  url += "/api/";
  url += RepoKindPlural(repo.kind);
  url += "/";
  url += repo.name;
  return url;
}

}  // namespace

const char* RepoKindPlural(RepoKind kind) {
  switch (kind) {
    case RepoKind::kModel: return "models";
    case RepoKind::kDataset: return "datasets";
    case RepoKind::kSpace: return "spaces";
  }
  return "models";
}

std::optional<RepoKind> RepoKindFromPlural(std::string_view plural) {
  for (RepoKind kind : {RepoKind::kModel, RepoKind::kDataset, RepoKind::kSpace}) {
    if (plural == RepoKindPlural(kind)) return kind;
  }
  return std::nullopt;
}

const char* RepoKindUrlPrefix(RepoKind kind) {
  switch (kind) {
    case RepoKind::kModel: return "";
    case RepoKind::kDataset: return "datasets/";
    case RepoKind::kSpace: return "spaces/";
  }
  return "";
}

std::string RepoDisplayName(const RepoId& repo) {
  return std::string(RepoKindUrlPrefix(repo.kind)) + repo.name;
}

std::string_view RepoNameProblem(std::string_view name) {
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos) return NamePartProblem(name);
  const std::string_view problem = NamePartProblem(name.substr(0, slash));
  if (!problem.empty()) return problem;
  return NamePartProblem(name.substr(slash + 1));
}

bool IsCommitId(std::string_view commit) {
  if (commit.size() != 40) return false;
  for (char c : commit) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

std::string RepoInfoUrl(std::string_view endpoint, const RepoId& repo) {
  return ApiRepoBase(endpoint, repo);
}

std::string RevisionInfoUrl(std::string_view endpoint, const RepoId& repo, std::string_view revision) {
  return ApiRepoBase(endpoint, repo) + "/revision/" + PercentEncodeRevision(revision);
}

std::string TreeUrl(std::string_view endpoint, const RepoId& repo, std::string_view commit) {
  return ApiRepoBase(endpoint, repo) + "/tree/" + PercentEncodeRevision(commit) +
         "?recursive=true&expand=false";
}

std::string SearchUrl(std::string_view endpoint, RepoKind kind, std::string_view query, int limit) {
  return std::string(endpoint) + "/api/" + RepoKindPlural(kind) + "?search=" + PercentEncodePathSegment(query) +
         "&limit=" + std::to_string(limit);
}

std::string ResolveUrl(std::string_view endpoint, const RepoId& repo, std::string_view commit,
                       std::string_view path) {
  std::string url(endpoint);
  url += "/";
  url += RepoKindUrlPrefix(repo.kind);
  url += repo.name;
  url += "/resolve/";
  url += PercentEncodeRevision(commit);
  url += "/";
  url += PercentEncodePath(path);
  return url;
}

}  // namespace hfm
