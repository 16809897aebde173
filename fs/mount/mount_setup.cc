#include "fs/mount/mount_setup.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>

#include "fs/mount/credentials.h"

namespace hfm {

// A quota that cannot fill the disk by default.
uint64_t DefaultCacheSize(const std::string& dir) {
  constexpr uint64_t kMax = 64ull << 30;
  std::string probe = dir;
  struct statvfs st;
  while (!probe.empty() && statvfs(probe.c_str(), &st) != 0) {
    const size_t slash = probe.rfind('/');
    probe = slash == 0 || slash == std::string::npos ? "/" : probe.substr(0, slash);
    if (probe == "/") {
      if (statvfs("/", &st) != 0) return kMax;
      break;
    }
  }
  const uint64_t disk = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  return std::min<uint64_t>(kMax, disk / 10 * 8);
}

CacheOptions MakeCacheOptions(const MountOptions& m) {
  CacheOptions c;
  c.directory = m.cache_dir;
  c.max_bytes = m.cache_size ? m.cache_size : DefaultCacheSize(m.cache_dir);
  return c;
}

CurlTransportOptions MakeTransportOptions(const MountOptions& m) {
  CurlTransportOptions t;
  t.ca_file = m.ca_file;
  t.insecure = m.insecure;
  // Every fetch thread may hold a connection to the CDN (twice fetch_threads
  // of them on a far link: LinkEstimator::parallel), and listings or
  // redirects need one to the Hub meanwhile.
  t.max_connections_per_host = 2 * m.fetch_threads + FilesystemOptions().urgent_fetch_threads + 4;
  return t;
}

HubClientOptions MakeHubClientOptions(const MountOptions& m, const std::string& token, HttpTransport* transport,
                                      ListingMemory* listing_memory) {
  HubClientOptions h;
  h.listing_memory = listing_memory;
  h.listing_cap = m.max_listing_memory / 2;
  h.endpoint = m.endpoints.front();
  h.endpoints = m.endpoints;
  if (m.low_speed > 0) h.low_speed_bytes_per_second = m.low_speed;
  if (m.low_speed_time > 0) h.low_speed_seconds = m.low_speed_time;
  h.token = token;
  h.token_http_hosts = m.token_http_hosts;
  h.trusted_endpoint = m.trusted_endpoint;
  h.trust_fallback = m.trust_fallback;
  h.offline = m.offline;
  h.transport = transport;
  return h;
}

FilesystemOptions MakeFilesystemOptions(const MountOptions& m, const std::string& version,
                                        ListingMemory* listing_memory) {
  FilesystemOptions o;
  o.snapshots.listing_memory = listing_memory;
  o.snapshots.listing_cap = m.max_listing_memory / 2;
  o.version = version;
  o.snapshots.revision_ttl = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(m.revision_ttl));
  o.snapshots.negative_ttl = std::min(o.snapshots.revision_ttl, Duration(std::chrono::seconds(10)));
  o.snapshots.request_timeout = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(m.timeout));
  o.snapshots.offline = m.offline;
  o.snapshots.lock = m.lock;
  o.snapshots.serve_gated_offline = m.offline_gated;
  if (m.per_user_token) o.snapshots.user_token = [](uint32_t uid) { return LoadUserToken(uid); };
  o.read_path.strict = m.strict;
  o.read_path.offline = m.offline;
  o.read_path.read_timeout = o.snapshots.request_timeout;
  // A fetch gives up when its readers would: retries past that only keep a
  // fetch thread from serving the next read.
  o.read_path.fetch_timeout = o.snapshots.request_timeout;
  o.branch_timeout = std::min(1.0, m.revision_ttl);
  o.max_memory = m.max_memory;
  o.fetch_threads = m.fetch_threads;
  o.read_path.max_blocks_per_fetch = static_cast<uint32_t>(std::max<uint64_t>(1, m.fetch_size >> 20));
  if (m.prefetch_patterns) o.background_patterns = *m.prefetch_patterns;
  return o;
}


}  // namespace hfm
