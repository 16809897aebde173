// "repo=... revision=... path=... endpoint=...": how a read-path log line
// names the file and the endpoint it is about.
#pragma once

#include <string>

#include "fetch/hub_client.h"

namespace hfm {

inline std::string LogWhere(const FileLocation& loc, const std::string& endpoint) {
  return "repo=" + RepoDisplayName(loc.repo) + " revision=" + loc.commit + " path=" + loc.path +
         " endpoint=" + endpoint;
}

}  // namespace hfm
