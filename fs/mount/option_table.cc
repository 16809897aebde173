#include "fs/mount/option_table.h"

#include <cstdlib>
#include <optional>

namespace hfm {
namespace {

std::string Spelled(const OptionSpec& spec, const std::string& value) {
  return std::string(spec.name) + "=" + value;
}

// A whole decimal number; nullopt on anything else.
std::optional<long> ParseLong(const std::string& value) {
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0') return std::nullopt;
  return v;
}

Result<double> ParseSeconds(const OptionSpec& spec, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || v < 0 || v > 1e7) {
    return Status::InvalidArgument("option " + Spelled(spec, value) + ": expected seconds");
  }
  return v;
}

// A value kept as written: a path, a group.
template <std::string MountOptions::*field>
Status ApplyText(const OptionSpec&, const std::string& value, MountOptions* out) {
  out->*field = value;
  return Status::Ok();
}

template <bool MountOptions::*field>
Status ApplyFlag(const OptionSpec&, const std::string&, MountOptions* out) {
  out->*field = true;
  return Status::Ok();
}

Status ApplyFusePassthrough(const OptionSpec& spec, const std::string&, MountOptions* out) {
  out->fuse_options.emplace_back(spec.name);
  return Status::Ok();
}

// Bare (or empty) means the official Hub: the one source an admin can name
// without knowing a URL.
Status ApplyTrustedEndpoint(const OptionSpec&, const std::string& value, MountOptions* out) {
  std::vector<std::string> urls = SplitEndpoints(value);
  if (urls.size() > 1) return Status::InvalidArgument("option trusted_endpoint= takes one URL");
  const std::string url = urls.empty() ? "https://huggingface.co" : urls.front();
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return Status::InvalidArgument("option trusted_endpoint=" + value + ": expected an http(s) URL");
  }
  out->trusted_endpoint = url;
  return Status::Ok();
}

// The file is read and checked here, so a bad lock file stops the mount
// with its error before anything is served.
Status ApplyLockFile(const OptionSpec&, const std::string& value, MountOptions* out) {
  if (value.empty()) return Status::InvalidArgument("option lock= needs a file");
  auto lock = LockFile::Load(value);
  if (!lock.ok()) return lock.status();
  out->lock = std::make_shared<const LockFile>(std::move(*lock));
  return Status::Ok();
}

Status ApplyEndpoint(const OptionSpec&, const std::string& value, MountOptions* out) {
  out->endpoints = SplitEndpoints(value);
  if (out->endpoints.empty()) return Status::InvalidArgument("option endpoint= needs a URL");
  return CheckEndpointUrls(out->endpoints);
}

Status ApplyTokenHttpHosts(const OptionSpec&, const std::string& value, MountOptions* out) {
  out->token_http_hosts.clear();
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(';', start);
    if (end == std::string::npos) end = value.size();
    std::string host = value.substr(start, end - start);
    if (host.find_first_of(":/@ ") != std::string::npos && !host.starts_with("[")) {
      return Status::InvalidArgument("option token_http_hosts: '" + host + "' is not a host name or address");
    }
    if (!host.empty()) out->token_http_hosts.push_back(std::move(host));
    start = end + 1;
  }
  return Status::Ok();
}

template <long MountOptions::*field>
Status ApplyNonNegative(const OptionSpec& spec, const std::string& value, MountOptions* out) {
  const auto v = ParseLong(value);
  if (!v || *v < 0) return Status::InvalidArgument("option " + Spelled(spec, value) + ": expected a number");
  out->*field = *v;
  return Status::Ok();
}

Status ApplyCacheSize(const OptionSpec&, const std::string& value, MountOptions* out) {
  auto size = ParseSize(value);
  if (!size.ok()) return size.status();
  out->cache_size = *size;
  return Status::Ok();
}

Status ApplyMaxMemory(const OptionSpec&, const std::string& value, MountOptions* out) {
  auto size = ParseSize(value);
  if (!size.ok()) return size.status();
  if (*size < (4ull << 20)) return Status::InvalidArgument("max_memory must be at least 4M");
  out->max_memory = *size;
  return Status::Ok();
}

Status ApplyMaxListingMemory(const OptionSpec&, const std::string& value, MountOptions* out) {
  auto size = ParseSize(value);
  if (!size.ok()) return size.status();
  if (*size < (4ull << 20)) return Status::InvalidArgument("max_listing_memory must be at least 4M");
  out->max_listing_memory = *size;
  return Status::Ok();
}

Status ApplyFetchSize(const OptionSpec&, const std::string& value, MountOptions* out) {
  auto size = ParseSize(value);
  if (!size.ok()) return size.status();
  if (*size < (1ull << 20) || *size > (64ull << 20)) {
    return Status::InvalidArgument("fetch_size must be between 1M and 64M");
  }
  out->fetch_size = *size;
  return Status::Ok();
}

Status ApplyFetchThreads(const OptionSpec&, const std::string& value, MountOptions* out) {
  const auto v = ParseLong(value);
  if (!v || *v < 1 || *v > 256) return Status::InvalidArgument("fetch_threads must be 1..256");
  out->fetch_threads = static_cast<int>(*v);
  return Status::Ok();
}

Status ApplyPrefetch(const OptionSpec&, const std::string& value, MountOptions* out) {
  std::vector<std::string> patterns;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(';', start);
    if (end == std::string::npos) end = value.size();
    std::string one = value.substr(start, end - start);
    if (!one.empty() && one != "none") patterns.push_back(one);
    start = end + 1;
  }
  out->prefetch_patterns = std::move(patterns);
  return Status::Ok();
}

Status ApplyRevisionTtl(const OptionSpec& spec, const std::string& value, MountOptions* out) {
  auto v = ParseSeconds(spec, value);
  if (!v.ok()) return v.status();
  out->revision_ttl = *v;
  return Status::Ok();
}

Status ApplyTimeout(const OptionSpec& spec, const std::string& value, MountOptions* out) {
  auto v = ParseSeconds(spec, value);
  if (!v.ok()) return v.status();
  if (*v < 1) return Status::InvalidArgument("option timeout must be at least 1 second");
  out->timeout = *v;
  return Status::Ok();
}

Status ApplyVerify(const OptionSpec&, const std::string& value, MountOptions* out) {
  if (value != "strict" && value != "default") {
    return Status::InvalidArgument("option verify=" + value + ": expected strict or default");
  }
  out->strict = value == "strict";
  return Status::Ok();
}

Status ApplyLogLevel(const OptionSpec&, const std::string& value, MountOptions* out) {
  if (value != "debug" && value != "info" && value != "warning" && value != "error") {
    return Status::InvalidArgument("option log_level=" + value + ": expected debug, info, warning or error");
  }
  out->log_level = value;
  return Status::Ok();
}

constexpr OptionSpec kOptions[] = {
    {"endpoint", "URL[;URL...]", "",
     "the Hub or mirrors of it, in priority order (default $HFMIRROR_ENDPOINTS, $HF_ENDPOINT or "
     "https://huggingface.co)",
     ApplyEndpoint},
    {"trusted_endpoint", "[URL]", "",
     "commits and listings (every hash) only from URL, bytes from any endpoint; bare: https://huggingface.co "
     "(default: off, metadata from any endpoint)",
     ApplyTrustedEndpoint},
    {"trust_fallback", "", "",
     "when the trusted endpoint cannot be reached, take metadata from the mirrors (warned once per repo)",
     ApplyFlag<&MountOptions::trust_fallback>},
    {"lock", "FILE", "",
     "serve the repos of this lock file (hfmirror lock) only at their locked commit, with the locked hashes",
     ApplyLockFile},
    {"cache", "DIR", "",
     "the block cache (default $HFMIRROR_CACHE, /var/cache/hfmirror for root, ~/.cache/hfmirror otherwise)",
     ApplyText<&MountOptions::cache_dir>},
    {"cache_size", "SIZE", "", "cache quota, e.g. 50G (default: 64G or 80% of the disk, whichever is less)",
     ApplyCacheSize},
    {"token_file", "PATH", "",
     "token file (default $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, $HF_TOKEN_PATH, $HF_HOME/token, "
     "~/.cache/huggingface/token)",
     ApplyText<&MountOptions::token_file>},
    {"token_http_hosts", "HOST[;HOST...]", "",
     "plain-http endpoint hosts that may still get the token (loopback always may; other http endpoints get "
     "none)",
     ApplyTokenHttpHosts},
    {"offline_gated", "", "",
     "when no endpoint can confirm this mount's access, serve gated and private repos from the cache "
     "(default: refuse them; logged)",
     ApplyFlag<&MountOptions::offline_gated>},
    {"per_user_token", "", "",
     "with allow_other: serve gated and private repos to each user with their own ~/.cache/huggingface/token "
     "(default: the mount's token serves everyone)",
     ApplyFlag<&MountOptions::per_user_token>},
    {"revision_ttl", "SECONDS", "60", "re-resolve branches and tags after this long", ApplyRevisionTtl},
    {"timeout", "SECONDS", "30", "a read waits at most this long for the network, then EIO", ApplyTimeout},
    {"verify", "strict", "", "serve no byte of a file before its whole hash is checked (default: off)",
     ApplyVerify},
    // 0 leaves the Hub client's own threshold; the defaults shown are its.
    {"low_speed", "BYTES_PER_S", "1024", "abort a transfer slower than this for low_speed_time (next mirror)",
     ApplyNonNegative<&MountOptions::low_speed>},
    {"low_speed_time", "SECONDS", "10", "how long a transfer may stay below low_speed",
     ApplyNonNegative<&MountOptions::low_speed_time>},
    {"cafile", "PATH", "", "trust this CA bundle too", ApplyText<&MountOptions::ca_file>},
    {"insecure", "", "", "skip TLS checks (never the default; logged)", ApplyFlag<&MountOptions::insecure>},
    {"cache_group", "GROUP", "", "cache directory 0750 for GROUP instead of 0700",
     ApplyText<&MountOptions::cache_group>},
    {"max_memory", "SIZE", "192M",
     "most fetched data held in memory at once, all files (32M unless the link is far)", ApplyMaxMemory},
    {"max_listing_memory", "SIZE", "128M",
     "repo listings held in memory at once, all repos; one listing gets half; past it: EIO",
     ApplyMaxListingMemory},
    {"prefetch", "GLOB[;GLOB...]", "*.safetensors;*.bin;*.gguf;*.onnx;*.pt;*.pth;*.h5;*.msgpack",
     "fetch matching files whole in the background on open; none: never", ApplyPrefetch},
    {"fetch_size", "SIZE", "16M",
     "largest readahead GET, whole 1 MiB blocks; GETs grow to it with the link's round trip (1M: never)",
     ApplyFetchSize},
    {"fetch_threads", "N", "16", "ranged GETs in flight at once, all files", ApplyFetchThreads},
    {"log_level", "LEVEL", "info", "debug, info, warning or error; the daemon logs to syslog", ApplyLogLevel},
    {"allow_other", "", "", "let every user in (and turn on default_permissions); passed to FUSE",
     ApplyFusePassthrough},
    {"allow_root", "", "", "let root in as well as the owner; passed to FUSE", ApplyFusePassthrough},
    {"default_permissions", "", "", "the kernel checks the files' modes; passed to FUSE", ApplyFusePassthrough},
    {"auto_unmount", "", "", "unmount when the daemon dies; passed to FUSE", ApplyFusePassthrough},
};

// Options refused whatever their value, with the reason.
struct Refusal {
  std::string_view name;
  std::string_view message;
};
constexpr Refusal kRefused[] = {
    // Not echoing the value: it would be the token.
    {"token", "a token on the command line is visible to every user (ps): use HF_TOKEN or -o token_file=PATH"},
    {"rw", "hfmirror is read-only: option rw is not supported"},
};

// Options mount(8) and fstab pass that mean nothing more for a read-only
// network filesystem.
bool IsGenericMountOption(std::string_view opt) {
  static constexpr std::string_view kAccepted[] = {
      "ro",   "nodev",  "nosuid", "noexec",   "exec", "dev",    "suid",  "noauto",   "auto",
      "_netdev", "nofail", "defaults", "user", "nouser", "users", "noatime", "relatime", "atime"};
  for (std::string_view a : kAccepted) {
    if (opt == a) return true;
  }
  return opt.starts_with("x-systemd.") || opt.starts_with("comment=");
}

// `text` broken at spaces into lines of at most `width` columns; the first
// starts at `column`, the others are indented by `indent`.
std::string Wrap(std::string_view text, size_t column, size_t indent, size_t width) {
  std::string out;
  bool line_empty = true;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (!line_empty && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_empty = false;
  }
  return out;
}

}  // namespace

std::span<const OptionSpec> MountOptionTable() { return kOptions; }

const OptionSpec* FindMountOption(std::string_view name) {
  for (const OptionSpec& spec : kOptions) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status ApplyMountOption(const std::string& option, MountOptions* out) {
  const size_t eq = option.find('=');
  const std::string key = option.substr(0, eq);
  const bool has_value = eq != std::string::npos;
  const OptionSpec* spec = FindMountOption(key);
  // A value option given bare parses "" (and may refuse it); a flag given a
  // value is no option hfmirror knows.
  if (spec && !(has_value && spec->operand.empty())) {
    return spec->apply(*spec, has_value ? option.substr(eq + 1) : "", out);
  }
  for (const Refusal& refused : kRefused) {
    if (key == refused.name) return Status::InvalidArgument(refused.message);
  }
  if (IsGenericMountOption(option)) return Status::Ok();
  return Status::InvalidArgument("unknown option '" + key + "'");
}

std::string MountOptionHelp() {
  constexpr size_t kColumn = 27, kWidth = 100;
  std::string out;
  for (const OptionSpec& spec : kOptions) {
    std::string left = "  " + std::string(spec.name);
    if (!spec.operand.empty()) left += "=" + std::string(spec.operand);
    left += std::string(left.size() + 2 <= kColumn ? kColumn - left.size() : 2, ' ');
    std::string help(spec.help);
    if (!spec.default_value.empty()) help += " (default " + std::string(spec.default_value) + ")";
    out += left + Wrap(help, left.size(), kColumn, kWidth) + "\n";
  }
  return out;
}

}  // namespace hfm
