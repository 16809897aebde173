#include "fs/mount/mount_options.h"

#include "fs/mount/option_table.h"

#include "fetch/log_text.h"
#include "fetch/url.h"

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

}  // namespace

const char* MountUsage() {
  // Built once; the table does not change while the program runs.
  static const std::string usage =
      "usage: mount.hfmirror [SOURCE] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
      "options:\n" +
      MountOptionHelp() +
      "  ro, nodev, nosuid, noexec, noauto, _netdev, nofail, x-systemd.*   accepted (mount(8), fstab)\n"
      "  -f foreground, -d debug, -V/--version, -h/--help\n"
      "The same options, one `key = value` per line, may go in /etc/hfmirror.conf ($HFMIRROR_CONFIG);\n"
      "-o wins over the environment, which wins over the file.\n";
  return usage.c_str();
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

Status CheckEndpointUrls(const std::vector<std::string>& endpoints) {
  for (const auto& e : endpoints) {
    // The password must not reach the log, xattrs, stats or metrics: refuse
    // it here, before anything stores the URL, and never echo it.
    if (HasUserinfo(e)) {
      return Status::InvalidArgument("endpoint '" + LogSafe(StripQuery(e)) +
                                     "': a user name or password in the URL (user:password@) is refused; "
                                     "give credentials in the token file instead");
    }
    if (!e.starts_with("http://") && !e.starts_with("https://")) {
      return Status::InvalidArgument("endpoint '" + LogSafe(e) + "': expected an http(s) URL");
    }
  }
  return Status::Ok();
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

// What the config file says of endpoint and cache, held back from the
// options: the environment comes between the file and -o for those two.
struct FileFallbacks {
  std::vector<std::string> endpoints;
  std::string cache_dir;
};

// The file first, so the command line overrides it.
Result<FileFallbacks> ApplyConfigFile(const std::string& path, MountOptions* out) {
  auto config = ReadConfigFile(path);
  if (!config.ok()) return config.status();
  for (const auto& opt : *config) {
    Status s = ApplyMountOption(opt, out);
    if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  }
  FileFallbacks held{std::move(out->endpoints), std::move(out->cache_dir)};
  out->endpoints.clear();
  out->cache_dir.clear();
  return held;
}

// "opt,opt,..." as -o gives it.
Status ApplyOptionList(const std::string& list, MountOptions* out) {
  std::stringstream ss(list);
  std::string opt;
  while (std::getline(ss, opt, ',')) {
    if (opt.empty()) continue;
    HFM_RETURN_IF_ERROR(ApplyMountOption(opt, out));
  }
  return Status::Ok();
}

// argv's flags and -o lists onto `out`, the rest (SOURCE, MOUNTPOINT) into
// `positional`. Stops at -h or -V: nothing after them matters.
Status ApplyArguments(int argc, char** argv, MountOptions* out, std::vector<std::string>* positional) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-f") {
      out->foreground = true;
    } else if (arg == "-d") {
      out->debug = true;
      out->foreground = true;
    } else if (arg == "-o") {
      if (++i >= argc) return Status::InvalidArgument("-o needs a value");
      HFM_RETURN_IF_ERROR(ApplyOptionList(argv[i], out));
    } else if (arg.starts_with("-o")) {
      HFM_RETURN_IF_ERROR(ApplyOptionList(arg.substr(2), out));
    } else if (arg == "-h" || arg == "--help") {
      out->help = true;
      return Status::Ok();
    } else if (arg == "-V" || arg == "--version") {
      out->version = true;
      return Status::Ok();
    } else if (arg == "-n" || arg == "-s" || arg == "-v") {
      // mount(8) passes these to helpers (no mtab, sloppy, verbose): nothing to do.
    } else if (arg == "-t" || arg == "-N") {
      // mount(8)'s type and namespace, with their value: the type is ours,
      // and the namespace is already the one this process runs in.
      if (++i >= argc) return Status::InvalidArgument(arg + " needs a value");
    } else if (!arg.empty() && arg[0] == '-') {
      return Status::InvalidArgument("unknown flag '" + arg + "'");
    } else {
      positional->push_back(arg);
    }
  }
  return Status::Ok();
}

// [SOURCE] MOUNTPOINT: SOURCE is an endpoint URL (used unless -o endpoint=
// named one) or "hfmirror", as mount(8) passes it from fstab.
Status ApplyPositional(const std::vector<std::string>& positional, MountOptions* out) {
  if (positional.empty() || positional.size() > 2) {
    return Status::InvalidArgument(std::string("expected a mount point\n") + MountUsage());
  }
  out->mountpoint = positional.back();
  if (positional.size() == 1) return Status::Ok();
  const std::string& source = positional.front();
  if (source.starts_with("http://") || source.starts_with("https://")) {
    if (out->endpoints.empty()) out->endpoints = SplitEndpoints(source);
  } else if (source != "hfmirror") {
    return Status::InvalidArgument("SOURCE '" + source + "': expected an endpoint URL or 'hfmirror'");
  }
  return Status::Ok();
}

// -o or SOURCE, else the environment, else the file, else the Hub itself.
Status ResolveEndpoints(const std::vector<std::string>& from_file, MountOptions* out) {
  if (out->endpoints.empty()) {
    if (const char* list = Env("HFMIRROR_ENDPOINTS")) {
      out->endpoints = SplitEndpoints(list);
    } else if (const char* one = Env("HF_ENDPOINT")) {
      out->endpoints = SplitEndpoints(one);
    }
  }
  if (out->endpoints.empty()) out->endpoints = from_file;
  if (out->endpoints.empty()) out->endpoints.push_back("https://huggingface.co");
  return CheckEndpointUrls(out->endpoints);
}

// -o, else the environment, else the file, else root's or the user's default.
void ResolveCacheDir(const std::string& from_file, MountOptions* out) {
  if (!out->cache_dir.empty()) return;
  if (const char* env = Env("HFMIRROR_CACHE")) {
    out->cache_dir = env;
  } else if (!from_file.empty()) {
    out->cache_dir = from_file;
  } else if (geteuid() == 0) {
    out->cache_dir = "/var/cache/hfmirror";
  } else {
    out->cache_dir = HomeDir() + "/.cache/hfmirror";
  }
}

void ApplyOfflineFromEnvironment(MountOptions* out) {
  if (const char* offline = Env("HF_HUB_OFFLINE")) {
    const std::string v = offline;
    out->offline = v == "1" || v == "true" || v == "TRUE" || v == "yes" || v == "ON" || v == "on";
  }
}

}  // namespace

Result<MountOptions> ParseMountOptions(int argc, char** argv, const std::string& config_path) {
  MountOptions out;
  auto from_file = ApplyConfigFile(config_path, &out);
  if (!from_file.ok()) return from_file.status();
  std::vector<std::string> positional;
  HFM_RETURN_IF_ERROR(ApplyArguments(argc, argv, &out, &positional));
  if (out.help || out.version) return out;
  HFM_RETURN_IF_ERROR(ApplyPositional(positional, &out));
  HFM_RETURN_IF_ERROR(ResolveEndpoints(from_file->endpoints, &out));
  ResolveCacheDir(from_file->cache_dir, &out);
  ApplyOfflineFromEnvironment(&out);
  return out;
}

}  // namespace hfm
