#include "fetch/metadata_trust.h"

#include <utility>

#include "util/log.h"

namespace hfm {
namespace {

// Repos remembered as already logged; an hour keeps a long outage to a line
// per repo per hour.
constexpr size_t kLoggedRepos = 4096;
constexpr Duration kForgetLogged = std::chrono::hours(1);

}  // namespace

MetadataTrust::MetadataTrust(std::optional<size_t> trusted, std::string trusted_endpoint, bool fallback,
                             const Clock* clock)
    : trusted_(trusted),
      trusted_endpoint_(std::move(trusted_endpoint)),
      fallback_(fallback),
      logged_(kLoggedRepos, kForgetLogged, clock) {}

std::optional<Status> MetadataTrust::OnTrustedUnreachable(const std::string& repo_display,
                                                          const std::string& context, const Status& status) {
  if (fallback_) {
    if (FirstTime("fallback\n" + repo_display)) {
      LogWarning(repo_display + ": trusted endpoint " + trusted_endpoint_ + " cannot be reached (" +
                 status.ToString() + "); taking commits and listings from the mirrors, unverified (trust_fallback)");
    }
    return std::nullopt;
  }
  if (FirstTime("refuse\n" + repo_display)) {
    LogError(repo_display + ": trusted endpoint " + trusted_endpoint_ + " cannot be reached (" + status.ToString() +
             "); refusing revisions it cannot verify (trust_fallback is off)");
  }
  return Status::Unavailable(context + ": trusted endpoint " + trusted_endpoint_ +
                             " cannot be reached, and metadata from mirrors is not trusted: " + status.message());
}

bool MetadataTrust::FirstTime(const std::string& key) {
  MutexLock lock(&mu_);
  if (logged_.Get(key)) return false;
  logged_.Put(key, true);
  return true;
}

}  // namespace hfm
