#include "fs/mount/mount_options.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace hfm {
namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::string HomeDir() {
  if (const char* home = Env("HOME")) return home;
  if (passwd* pw = getpwuid(getuid())) return pw->pw_dir;
  return "/tmp";
}

Result<double> ParseSeconds(const std::string& key, const std::string& value) {
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || v < 0 || v > 1e7) {
    return Status::InvalidArgument("option " + key + "=" + value + ": expected seconds");
  }
  return v;
}

// Options mount(8) and fstab pass that mean nothing more for a read-only
// network filesystem.
bool IsGenericMountOption(const std::string& opt) {
  static const char* kAccepted[] = {"ro", "nodev", "nosuid", "noexec", "exec", "dev", "suid",
                                    "noauto", "auto", "_netdev", "nofail", "defaults", "user",
                                    "nouser", "users", "noatime", "relatime", "atime"};
  for (const char* a : kAccepted) {
    if (opt == a) return true;
  }
  return opt.rfind("x-systemd.", 0) == 0 || opt.rfind("comment=", 0) == 0;
}

bool IsFusePassthrough(const std::string& opt) {
  return opt == "allow_other" || opt == "allow_root" || opt == "default_permissions" ||
         opt == "auto_unmount";
}

std::vector<std::string> SplitEndpoints(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ';')) {
    while (!item.empty() && (item.back() == '/' || item.back() == ' ')) item.pop_back();
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Status ApplyOption(const std::string& opt, MountOptions* out) {
  const size_t eq = opt.find('=');
  const std::string key = opt.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
  if (key == "endpoint") {
    out->endpoints = SplitEndpoints(value);
    if (out->endpoints.empty()) return Status::InvalidArgument("option endpoint= needs a URL");
  } else if (key == "low_speed" || key == "low_speed_time") {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 0) {
      return Status::InvalidArgument("option " + key + "=" + value + ": expected a number");
    }
    (key == "low_speed" ? out->low_speed : out->low_speed_time) = v;
  } else if (key == "cafile") {
    out->ca_file = value;
  } else if (key == "insecure" && eq == std::string::npos) {
    out->insecure = true;
  } else if (key == "cache_group") {
    out->cache_group = value;
  } else if (key == "cache") {
    out->cache_dir = value;
  } else if (key == "cache_size") {
    auto size = ParseSize(value);
    if (!size.ok()) return size.status();
    out->cache_size = *size;
  } else if (key == "max_memory") {
    auto size = ParseSize(value);
    if (!size.ok()) return size.status();
    if (*size < (4ull << 20)) return Status::InvalidArgument("max_memory must be at least 4M");
    out->max_memory = *size;
  } else if (key == "fetch_size") {
    auto size = ParseSize(value);
    if (!size.ok()) return size.status();
    if (*size < (1ull << 20) || *size > (64ull << 20)) {
      return Status::InvalidArgument("fetch_size must be between 1M and 64M");
    }
    out->fetch_size = *size;
  } else if (key == "fetch_threads") {
    char* end = nullptr;
    const long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 1 || v > 256) {
      return Status::InvalidArgument("fetch_threads must be 1..256");
    }
    out->fetch_threads = static_cast<int>(v);
  } else if (key == "prefetch") {
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
  } else if (key == "token_file") {
    out->token_file = value;
  } else if (key == "token") {
    return Status::InvalidArgument(
        "a token on the command line is visible to every user (ps): use HF_TOKEN or -o token_file=PATH");
  } else if (key == "revision_ttl") {
    auto v = ParseSeconds(key, value);
    if (!v.ok()) return v.status();
    out->revision_ttl = *v;
  } else if (key == "timeout") {
    auto v = ParseSeconds(key, value);
    if (!v.ok()) return v.status();
    if (*v < 1) return Status::InvalidArgument("option timeout must be at least 1 second");
    out->timeout = *v;
  } else if (key == "verify") {
    if (value != "strict" && value != "default") {
      return Status::InvalidArgument("option verify=" + value + ": expected strict or default");
    }
    out->strict = value == "strict";
  } else if (key == "log_level") {
    if (value != "debug" && value != "info" && value != "warning" && value != "error") {
      return Status::InvalidArgument("option log_level=" + value + ": expected debug, info, warning or error");
    }
    out->log_level = value;
  } else if (key == "rw") {
    return Status::InvalidArgument("hfmirror is read-only: option rw is not supported");
  } else if (IsFusePassthrough(key) && eq == std::string::npos) {
    out->fuse_options.push_back(key);
  } else if (IsGenericMountOption(opt)) {
    // accepted, nothing to do
  } else {
    return Status::InvalidArgument("unknown option '" + key + "'");
  }
  return Status::Ok();
}

}  // namespace

const char* MountUsage() {
  return "usage: mount.hfmirror [SOURCE] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
         "options:\n"
         "  endpoint=URL[;URL]  Hub or mirrors, in priority order (default $HFMIRROR_ENDPOINTS,\n"
         "                      $HF_ENDPOINT or https://huggingface.co)\n"
         "  cache=DIR           block cache (default $HFMIRROR_CACHE, /var/cache/hfmirror for root,\n"
         "                      ~/.cache/hfmirror otherwise)\n"
         "  cache_size=SIZE     cache quota, e.g. 50G (default: 64G or 80% of the disk, whichever is less)\n"
         "  token_file=PATH     token file (default $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, $HF_TOKEN_PATH,\n"
         "                      $HF_HOME/token, ~/.cache/huggingface/token)\n"
         "  revision_ttl=SECS   re-resolve branches and tags after this long (default 60)\n"
         "  timeout=SECS        a read waits at most this long for the network, then EIO (default 30)\n"
         "  verify=strict       serve no byte of a file before its whole hash is checked\n"
         "  low_speed=BYTES_PER_S,low_speed_time=S   abort transfers slower than this (next mirror)\n"
         "  cafile=PATH         trust this CA bundle too; insecure: skip TLS checks (never default)\n"
         "  cache_group=GROUP   cache directory 0750 for GROUP instead of 0700\n"
         "  max_memory=SIZE     fetched data held in memory at once, all files (default 32M)\n"
         "  fetch_size=SIZE     bytes per ranged GET, rounded to whole 1 MiB blocks (default 1M)\n"
         "  fetch_threads=N     ranged GETs in flight at once, all files (default 16)\n"
         "  prefetch=GLOB;...   fetch matching files whole in the background on open; none: never\n"
         "                      (default *.safetensors;*.bin;*.gguf;*.onnx;*.pt;*.pth;*.h5;*.msgpack)\n"
         "  log_level=LEVEL     debug, info, warning or error (default info); the daemon logs to syslog\n"
         "  allow_other, default_permissions, auto_unmount   passed to FUSE\n"
         "  ro, nodev, nosuid, noexec, noauto, _netdev, nofail, x-systemd.*   accepted (mount(8), fstab)\n"
         "  -f foreground, -d debug, -V/--version, -h/--help\n"
         "The same options, one `key = value` per line, may go in /etc/hfmirror.conf ($HFMIRROR_CONFIG);\n"
         "-o wins over the environment, which wins over the file.\n";
}

Result<uint64_t> ParseSize(const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("empty size");
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return Status::InvalidArgument("size '" + text + "': expected e.g. 50G");
  uint64_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  if (!unit.empty() && (unit.back() == 'i')) unit.pop_back();
  int shift = 0;
  if (unit.empty()) shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M" || unit == "m") shift = 20;
  else if (unit == "G" || unit == "g") shift = 30;
  else if (unit == "T" || unit == "t") shift = 40;
  else return Status::InvalidArgument("size '" + text + "': unknown unit");
  if (shift && value > (uint64_t{1} << (63 - shift))) return Status::InvalidArgument("size too large");
  return value << shift;
}

std::string DefaultConfigPath() {
  if (const char* path = Env("HFMIRROR_CONFIG")) return path;
  return "/etc/hfmirror.conf";
}

Result<std::vector<std::string>> ParseConfigText(const std::string& text, const std::string& origin) {
  std::vector<std::string> options;
  std::stringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    auto trim = [](std::string t) {
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      size_t start = 0;
      while (start < t.size() && std::isspace(static_cast<unsigned char>(t[start]))) ++start;
      return t.substr(start);
    };
    line = trim(line);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    std::string key = trim(line.substr(0, eq));
    const bool bad_key = key.empty() || key.find_first_of(" \t,") != std::string::npos;
    if (bad_key) {
      return Status::InvalidArgument(origin + ":" + std::to_string(number) + ": expected `key = value`");
    }
    options.push_back(eq == std::string::npos ? key : key + "=" + trim(line.substr(eq + 1)));
  }
  return options;
}

namespace {

// The config file's options; none if it does not exist.
Result<std::vector<std::string>> ReadConfigFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    if (errno == ENOENT) return std::vector<std::string>();
    return Status::InvalidArgument("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && text.size() < (1 << 20)) text.append(buf, n);
  std::fclose(f);
  return ParseConfigText(text, path);
}

}  // namespace

Result<MountOptions> ParseMountOptions(int argc, char** argv, const std::string& config_path) {
  MountOptions out;
  // The file first, so the command line overrides it; its endpoint and cache
  // are held back, since the environment comes between the two.
  auto config = ReadConfigFile(config_path);
  if (!config.ok()) return config.status();
  for (const auto& opt : *config) {
    Status s = ApplyOption(opt, &out);
    if (!s.ok()) return Status::InvalidArgument(config_path + ": " + s.message());
  }
  const std::vector<std::string> config_endpoints = std::move(out.endpoints);
  const std::string config_cache = std::move(out.cache_dir);
  out.endpoints.clear();
  out.cache_dir.clear();
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-f") {
      out.foreground = true;
    } else if (arg == "-d") {
      out.debug = true;
      out.foreground = true;
    } else if (arg == "-o" || (arg.rfind("-o", 0) == 0 && arg.size() > 2)) {
      std::string list;
      if (arg == "-o") {
        if (++i >= argc) return Status::InvalidArgument("-o needs a value");
        list = argv[i];
      } else {
        list = arg.substr(2);
      }
      std::stringstream ss(list);
      std::string opt;
      while (std::getline(ss, opt, ',')) {
        if (opt.empty()) continue;
        HFM_RETURN_IF_ERROR(ApplyOption(opt, &out));
      }
    } else if (arg == "-h" || arg == "--help") {
      out.help = true;
      return out;
    } else if (arg == "-V" || arg == "--version") {
      out.version = true;
      return out;
    } else if (arg == "-n" || arg == "-s" || arg == "-v") {
      // mount(8) passes these to helpers (no mtab, sloppy, verbose): nothing to do.
    } else if (arg == "-t" || arg == "-N") {
      // mount(8)'s type and namespace, with their value: the type is ours,
      // and the namespace is already the one this process runs in.
      if (++i >= argc) return Status::InvalidArgument(arg + " needs a value");
    } else if (!arg.empty() && arg[0] == '-') {
      return Status::InvalidArgument("unknown flag '" + arg + "'");
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty() || positional.size() > 2) {
    return Status::InvalidArgument(std::string("expected a mount point\n") + MountUsage());
  }
  out.mountpoint = positional.back();
  if (positional.size() == 2) {
    const std::string& source = positional.front();
    if (source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0) {
      if (out.endpoints.empty()) out.endpoints = SplitEndpoints(source);
    } else if (source != "hfmirror") {
      return Status::InvalidArgument("SOURCE '" + source + "': expected an endpoint URL or 'hfmirror'");
    }
  }
  if (out.endpoints.empty()) {
    if (const char* list = Env("HFMIRROR_ENDPOINTS")) {
      out.endpoints = SplitEndpoints(list);
    } else if (const char* one = Env("HF_ENDPOINT")) {
      out.endpoints = SplitEndpoints(one);
    }
  }
  if (out.endpoints.empty()) out.endpoints = config_endpoints;
  if (out.endpoints.empty()) out.endpoints.push_back("https://huggingface.co");
  for (const auto& e : out.endpoints) {
    if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
      return Status::InvalidArgument("endpoint '" + e + "': expected an http(s) URL");
    }
  }
  if (out.cache_dir.empty()) {
    if (const char* env = Env("HFMIRROR_CACHE")) {
      out.cache_dir = env;
    } else if (!config_cache.empty()) {
      out.cache_dir = config_cache;
    } else if (geteuid() == 0) {
      out.cache_dir = "/var/cache/hfmirror";
    } else {
      out.cache_dir = HomeDir() + "/.cache/hfmirror";
    }
  }
  if (const char* offline = Env("HF_HUB_OFFLINE")) {
    std::string v = offline;
    out.offline = v == "1" || v == "true" || v == "TRUE" || v == "yes" || v == "ON" || v == "on";
  }
  return out;
}

}  // namespace hfm
