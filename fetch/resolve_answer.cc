#include "fetch/resolve_answer.h"

#include <cctype>

#include "fetch/etag.h"

namespace hfm {
namespace {

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::string AnswerDisagreement(const FileLocation& file, const HttpResponseHead& head) {
  if (file.expected_hash) {
    const std::string linked = head.Header("x-linked-etag");
    const std::string named = NormalizeEtag(linked.empty() ? head.Header("etag") : linked);
    const auto hash = ContentHash::FromHex(file.expected_hash->kind(), named);
    if (hash && *hash != *file.expected_hash) {
      return "it names content " + hash->ToHex() + ", the listing " + file.expected_hash->ToHex();
    }
  }
  const std::string commit = head.Header("x-repo-commit");
  if (IsCommitId(commit) && Lower(commit) != Lower(file.commit)) {
    return "it answers for commit " + commit + ", not " + file.commit;
  }
  return "";
}

}  // namespace hfm
