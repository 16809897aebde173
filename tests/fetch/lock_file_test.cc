// Lock files: what `hfmirror lock` writes round-trips, hostile or broken lock
// files are refused with a message naming what is wrong, and a listing is
// compared with the lock on every file.
#include "fetch/lock_file.h"

#include <gtest/gtest.h>

#include "util/content_hash.h"

namespace hfm {
namespace {

const std::string kCommitHex = "0123456789abcdef0123456789abcdef01234567";
const std::string kSha = std::string(64, 'a');
const std::string kSha1 = std::string(40, 'b');

TreeEntry File(const std::string& path, uint64_t size, const std::string& content) {
  TreeEntry e;
  e.path = path;
  e.size = size;
  e.is_lfs = path.ends_with(".bin");
  e.hash = HashBytes(e.is_lfs ? ContentHash::Kind::kSha256 : ContentHash::Kind::kGitSha1, content);
  return e;
}

std::vector<TreeEntry> Listing() {
  TreeEntry dir;
  dir.path = "sub";
  dir.is_dir = true;
  return {File("model.bin", 5, "hello"), dir, File("sub/README.md", 3, "abc")};
}

std::string OneRepo(const std::string& repo_fields, const std::string& files) {
  return R"({"hfmirror_lock":1,"repos":[{)" + repo_fields + R"(,"files":[)" + files + "]}]}";
}
std::string Fields(const std::string& commit = kCommitHex) {
  return R"("kind":"model","repo":"org/name","revision":"main","commit":")" + commit + "\"";
}

Status Parse(const std::string& text) { return LockFile::Parse(text, "lock").status(); }

TEST(LockFileTest, WhatLockWritesParsesBack) {
  const RepoId repo{RepoKind::kDataset, "org/data"};
  const std::string text = LockFile::Serialize({LockRepo(repo, "v1", kCommitHex, Listing())});
  auto lock = LockFile::Parse(text, "lock");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  const LockedRepo* locked = lock->Find(repo);
  ASSERT_NE(locked, nullptr);
  EXPECT_EQ(locked->revision, "v1");
  EXPECT_EQ(locked->commit, kCommitHex);
  ASSERT_EQ(locked->files.size(), 2u);
  EXPECT_EQ(locked->files.at("model.bin").hash.kind(), ContentHash::Kind::kSha256);
  EXPECT_EQ(locked->files.at("sub/README.md").hash.kind(), ContentHash::Kind::kGitSha1);
  EXPECT_EQ(LockMismatch(*locked, Listing()), "");
  EXPECT_EQ(lock->Find(RepoId{RepoKind::kModel, "org/data"}), nullptr);
}

TEST(LockFileTest, HostileAndBrokenLockFilesAreRefusedWithAReason) {
  const std::string file = R"({"path":"a.bin","size":1,"sha256":")" + kSha + "\"}";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"repos":[]})", "version 1"},
      {R"({"hfmirror_lock":2,"repos":[]})", "version 1"},
      {R"({"hfmirror_lock":1,"repos":{}})", "\"repos\" must be an array"},
      {R"({"hfmirror_lock":1,"repos":[],"extra":1})", "unknown key"},
      {OneRepo(Fields() + R"(,"unexpected":true)", file), "unknown key"},
      {OneRepo(Fields("main"), file), "40 hex digits"},
      {OneRepo(R"("kind":"model","repo":"../x","revision":"","commit":")" + kCommitHex + "\"", file), "ORG/NAME"},
      {OneRepo(R"("kind":"module","repo":"o/n","revision":"","commit":")" + kCommitHex + "\"", file), "kind"},
      {OneRepo(Fields(), R"({"path":"../etc/passwd","size":1,"sha256":")" + kSha + "\"}"), "path"},
      {OneRepo(Fields(), R"({"path":"a","size":-1,"sha256":")" + kSha + "\"}"), "whole number"},
      {OneRepo(Fields(), R"({"path":"a","size":"1","sha256":")" + kSha + "\"}"), "whole number"},
      {OneRepo(Fields(), R"({"path":"a","size":1,"sha256":"xyz"})"), "not a sha256"},
      {OneRepo(Fields(), R"({"path":"a","size":1})"), "exactly one"},
      {OneRepo(Fields(), R"({"path":"a","size":1,"sha256":")" + kSha + R"(","git_sha1":")" + kSha1 + "\"}"),
       "exactly one"},
      {OneRepo(Fields(), file + "," + file), "listed twice"},
      {R"({"hfmirror_lock":1,"repos":[{)" + Fields() + R"(,"files":[]},{)" + Fields() + R"(,"files":[]}]})",
       "locked twice"},
  };
  for (const auto& [text, reason] : cases) {
    Status s = Parse(text);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(reason), std::string::npos) << text << " -> " << s.ToString();
  }
}

TEST(LockFileTest, AnOversizedLockFileIsRefusedBeforeParsing) {
  const std::string huge(kMaxLockFileBytes + 1, ' ');
  Status s = Parse(huge);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("MiB"), std::string::npos) << s.ToString();
}

TEST(LockFileTest, AListingThatDisagreesWithTheLockIsNamed) {
  const LockedRepo locked = LockRepo(RepoId{RepoKind::kModel, "o/n"}, "", kCommitHex, Listing());
  auto listing = Listing();
  listing[0].hash = HashBytes(ContentHash::Kind::kSha256, "HELLO");
  EXPECT_NE(LockMismatch(locked, listing).find("model.bin\" is listed with hash"), std::string::npos);
  listing = Listing();
  listing[2].size = 4;
  EXPECT_NE(LockMismatch(locked, listing).find("locked at 3"), std::string::npos);
  listing = Listing();
  listing.push_back(File("extra.txt", 1, "x"));
  EXPECT_NE(LockMismatch(locked, listing).find("not in the lock file"), std::string::npos);
  listing = Listing();
  listing.pop_back();
  EXPECT_NE(LockMismatch(locked, listing).find("not in the listing"), std::string::npos);
}

}  // namespace
}  // namespace hfm
