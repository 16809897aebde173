// MountOptions: what the command line and the environment ask for.
//
//   mount.hfmirror [SOURCE] MOUNTPOINT [-f] [-d] [-o opt[,opt...]]
//
// Options may come before or after the mount point. SOURCE (as mount(8)
// passes it) is an endpoint URL or the word "hfmirror" for the default.
// Unknown options are refused with a message rather than ignored. The -o
// options themselves, their parsing and help, are rows of option_table.h.
//
// A server's settings can live in /etc/hfmirror.conf ($HFMIRROR_CONFIG
// names another file): one `key = value` (or a bare flag) per line, the same
// names as -o, '#' comments. What wins: -o, then the environment (endpoint,
// cache), then the file, then the defaults.
//
// Thread safety: plain data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fetch/lock_file.h"
#include "util/status.h"

namespace hfm {

struct MountOptions {
  std::string mountpoint;
  // -o endpoint=URL1;URL2 (';' since ',' separates options), else
  // $HFMIRROR_ENDPOINTS (same form), else $HF_ENDPOINT, else huggingface.co.
  // In priority order: requests go to the first healthy one.
  std::vector<std::string> endpoints;
  std::string cache_dir;      // -o cache=, else $HFMIRROR_CACHE, else per-user default
  uint64_t cache_size = 0;    // -o cache_size=50G; 0 = choose from the disk
  std::string token_file;     // -o token_file=
  // -o token_http_hosts=HOST;HOST: plain-http endpoint hosts that still get
  // the token (loopback always does; other http endpoints never).
  std::vector<std::string> token_http_hosts;
  bool offline_gated = false;  // -o offline_gated: gated/private repos from the cache when no endpoint answers
  bool per_user_token = false;  // -o per_user_token: each caller's own token for gated/private repos
  double revision_ttl = 60;   // -o revision_ttl=SECONDS
  double timeout = 30;        // -o timeout=SECONDS: a read's deadline
  bool strict = false;        // -o verify=strict
  long low_speed = 0;         // -o low_speed=BYTES_PER_S: abort slower transfers (0 = default)
  long low_speed_time = 0;    // -o low_speed_time=S: ...after this many seconds (0 = default)
  std::string ca_file;        // -o cafile=PATH: an extra CA bundle
  bool insecure = false;      // -o insecure: skip TLS verification (logged loudly)
  // -o trusted_endpoint[=URL]: commits and listings only from URL (bare:
  // https://huggingface.co); "" = from any endpoint.
  std::string trusted_endpoint;
  bool trust_fallback = false;  // -o trust_fallback: mirrors' metadata when the trusted one is down
  std::shared_ptr<const LockFile> lock;  // -o lock=FILE, parsed when the option is
  std::string cache_group;    // -o cache_group=GROUP: cache dir 0750 for that group
  uint64_t max_memory = 192ull << 20;  // -o max_memory=SIZE: most fetched bytes in memory at once
  // -o max_listing_memory=SIZE: listings and snapshots in memory, all repos
  uint64_t max_listing_memory = 128ull << 20;
  uint64_t fetch_size = 16ull << 20;  // -o fetch_size=SIZE: largest readahead GET (whole blocks)
  int fetch_threads = 16;             // -o fetch_threads=N: ranged GETs at once
  // -o prefetch=GLOB;GLOB: files fetched whole in the background on open
  // ("none": no file); unset = the weight-file defaults.
  std::optional<std::vector<std::string>> prefetch_patterns;
  bool foreground = false;    // -f
  bool debug = false;         // -d: FUSE request trace and debug log lines
  bool offline = false;       // $HF_HUB_OFFLINE=1: serve only what is cached
  std::string log_level = "info";  // -o log_level=debug|info|warning|error
  bool help = false;          // -h, --help: print MountUsage() and exit
  bool version = false;       // -V, --version: print the version and exit
  // Options passed through to the kernel mount (allow_other, ...).
  std::vector<std::string> fuse_options;
};

// Parses argv, the environment and the config file at `config_path` (a
// missing file is no error). Returns InvalidArgument with a message fit for
// the user on anything it cannot honour.
Result<MountOptions> ParseMountOptions(int argc, char** argv, const std::string& config_path);
inline Result<MountOptions> ParseMountOptions(int argc, char** argv);

// $HFMIRROR_CONFIG, else /etc/hfmirror.conf.
std::string DefaultConfigPath();

// The option strings ("key=value" or "flag") of a config file's text; errors
// name `origin` and the line.
Result<std::vector<std::string>> ParseConfigText(const std::string& text, const std::string& origin);

inline Result<MountOptions> ParseMountOptions(int argc, char** argv) {
  return ParseMountOptions(argc, argv, DefaultConfigPath());
}

// "50G", "512M", "1T", "1048576" → bytes.
Result<uint64_t> ParseSize(const std::string& text);

// "URL;URL" (-o endpoint=, $HFMIRROR_ENDPOINTS, SOURCE) → the URLs, trimmed
// of spaces and trailing slashes, empty items dropped.
std::vector<std::string> SplitEndpoints(const std::string& list);

// InvalidArgument unless every URL is http(s) without user:password@ (the
// message names the URL without its userinfo).
Status CheckEndpointUrls(const std::vector<std::string>& endpoints);

// --help: the synopsis, every option of option_table.h, the flags.
const char* MountUsage();

}  // namespace hfm
