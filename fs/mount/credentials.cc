#include "fs/mount/credentials.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hfm {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  const size_t end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// Reads a token file. A missing default file is no error; `required` makes it one.
Result<std::string> ReadTokenFile(const std::string& path, bool required) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (required) return Status::InvalidArgument("token file " + path + " does not exist");
    return std::string();
  }
  if (st.st_mode & S_IROTH) {
    return Status::InvalidArgument("token file " + path +
                                   " is readable by other users; run: chmod o-r " + path);
  }
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Trim(ss.str());
}

}  // namespace

Result<std::string> LoadToken(const std::string& token_file_option) {
  if (!token_file_option.empty()) return ReadTokenFile(token_file_option, true);
  if (const char* t = Env("HF_TOKEN")) return Trim(t);
  if (const char* t = Env("HUGGING_FACE_HUB_TOKEN")) return Trim(t);
  if (const char* p = Env("HF_TOKEN_PATH")) return ReadTokenFile(p, false);
  std::string home_dir;
  if (const char* hf_home = Env("HF_HOME")) {
    home_dir = hf_home;
  } else if (const char* home = Env("HOME")) {
    home_dir = std::string(home) + "/.cache/huggingface";
  } else {
    return std::string();
  }
  return ReadTokenFile(home_dir + "/token", false);
}

}  // namespace hfm
