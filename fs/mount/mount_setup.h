// MountSetup: what the mount (fs/main.cc) and the hfmirror command share in
// turning MountOptions into the pieces they run on: the cache's options, the
// HTTP transport's, the Hub client's and the filesystem's. One place, so a
// prefetch by the command and a read through the mount fetch, verify and
// store the same way into the same cache.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "cache/block_store.h"
#include "fetch/http_transport.h"
#include "fetch/hub_client.h"
#include "fs/tree/hub_filesystem.h"
#include "fs/mount/mount_options.h"

namespace hfm {

// 64 GiB or 80% of the cache's file system, whichever is less.
uint64_t DefaultCacheSize(const std::string& dir);

CacheOptions MakeCacheOptions(const MountOptions& m);
CurlTransportOptions MakeTransportOptions(const MountOptions& m);
// `transport` is borrowed by the client and must outlive it.
// `listing_memory` (borrowed, may be null) is the daemon-wide budget that
// max_listing_memory sizes; each listing is capped at half of it.
HubClientOptions MakeHubClientOptions(const MountOptions& m, const std::string& token, HttpTransport* transport,
                                      ListingMemory* listing_memory = nullptr);
FilesystemOptions MakeFilesystemOptions(const MountOptions& m, const std::string& version,
                                        ListingMemory* listing_memory = nullptr);

}  // namespace hfm
