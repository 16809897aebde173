#include "fetch/link_header.h"

namespace hfm {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

// Walks the header once; every method advances pos_ or stops at the end.
class LinkScanner {
 public:
  explicit LinkScanner(std::string_view s) : s_(s) {}

  std::optional<std::string> FindNext() {
    while (true) {
      while (pos_ < s_.size() && (IsSpace(s_[pos_]) || s_[pos_] == ',')) ++pos_;
      if (pos_ >= s_.size()) return std::nullopt;
      if (s_[pos_] != '<') {
        SkipToNextLink();
        continue;
      }
      const size_t close = s_.find('>', pos_ + 1);
      if (close == std::string_view::npos) return std::nullopt;
      const std::string_view target = s_.substr(pos_ + 1, close - pos_ - 1);
      pos_ = close + 1;
      if (ParamsSayNext()) return std::string(Trim(target));
    }
  }

 private:
  static std::string_view Trim(std::string_view v) {
    while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
    while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
    return v;
  }

  // Reads the ";"-separated parameters of one link, up to the ',' that ends
  // it. Only the first rel parameter counts (RFC 8288 section 3.3).
  bool ParamsSayNext() {
    bool seen_rel = false;
    bool is_next = false;
    while (pos_ < s_.size()) {
      while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
      if (pos_ >= s_.size() || s_[pos_] == ',') break;
      if (s_[pos_] != ';') {
        SkipToNextLink();
        break;
      }
      ++pos_;
      while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
      const size_t name_start = pos_;
      while (pos_ < s_.size() && !IsSpace(s_[pos_]) && s_[pos_] != '=' && s_[pos_] != ';' &&
             s_[pos_] != ',') {
        ++pos_;
      }
      const std::string_view name = s_.substr(name_start, pos_ - name_start);
      while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
      std::string value;
      if (pos_ < s_.size() && s_[pos_] == '=') {
        ++pos_;
        while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
        value = ReadValue();
      }
      if (EqualsIgnoreCase(name, "rel") && !seen_rel) {
        seen_rel = true;
        is_next = RelListHasNext(value);
      }
    }
    return is_next;
  }

  // A quoted-string (with backslash escapes) or a bare token.
  std::string ReadValue() {
    std::string value;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        value.push_back(s_[pos_]);
        ++pos_;
      }
      if (pos_ < s_.size()) ++pos_;  // the closing quote
      return value;
    }
    while (pos_ < s_.size() && !IsSpace(s_[pos_]) && s_[pos_] != ';' && s_[pos_] != ',') {
      value.push_back(s_[pos_]);
      ++pos_;
    }
    return value;
  }

  static bool RelListHasNext(std::string_view rels) {
    while (!rels.empty()) {
      while (!rels.empty() && IsSpace(rels.front())) rels.remove_prefix(1);
      size_t end = 0;
      while (end < rels.size() && !IsSpace(rels[end])) ++end;
      if (end > 0 && EqualsIgnoreCase(rels.substr(0, end), "next")) return true;
      rels.remove_prefix(end);
    }
    return false;
  }

  // Skips malformed text up to the next ',' outside quotes.
  void SkipToNextLink() {
    bool quoted = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (quoted && c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) return;
      ++pos_;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> ParseNextLink(std::string_view header) {
  return LinkScanner(header).FindNext();
}

}  // namespace hfm
