// The Hub's URL layout ("Endpoints and URL forms" in fetch/PROTOCOL.md): API
// URLs name the kind (/api/models/...), file URLs prefix datasets/ and
// spaces/. Repo ids and commits are checked before they go into a URL, so a
// bad name cannot change which resource a URL points to.
//
// RepoKindPlural, RepoKindUrlPrefix and RepoDisplayName (declared in
// hub_client.h) are defined in hub_urls.cc.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "fetch/hub_client.h"

namespace hfm {

// Why `name` is not a repo id, or "" if it is one: "name" or "ns/name", each
// part 1-96 characters of [A-Za-z0-9._-], not "." or "..".
std::string_view RepoNameProblem(std::string_view name);

// {endpoint}/api/{kind}s/{repo}: repo info at the default branch.
std::string RepoInfoUrl(std::string_view endpoint, const RepoId& repo);
// {endpoint}/api/{kind}s/{repo}/revision/{rev as one %2F-encoded segment}.
std::string RevisionInfoUrl(std::string_view endpoint, const RepoId& repo, std::string_view revision);
// {endpoint}/api/{kind}s/{repo}/tree/{commit}?recursive=true&expand=false.
std::string TreeUrl(std::string_view endpoint, const RepoId& repo, std::string_view commit);
// {endpoint}/api/{kind}s?search={query, encoded}&limit={limit}.
std::string SearchUrl(std::string_view endpoint, RepoKind kind, std::string_view query, int limit);
// {endpoint}/{prefix}{repo}/resolve/{commit}/{path, each segment encoded}.
std::string ResolveUrl(std::string_view endpoint, const RepoId& repo, std::string_view commit,
                       std::string_view path);

}  // namespace hfm
