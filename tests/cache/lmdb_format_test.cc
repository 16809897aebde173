// The on-disk layout: keys sort a file's blocks together and in order, and
// the "files" record round-trips.
#include "cache/lmdb_format.h"

#include <gtest/gtest.h>

#include "tests/cache/cache_test_util.h"

namespace hfm {
namespace {

using testing::Sha256;

TEST(LmdbFormatTest, FileKeyIsContentHashKeyBytes) {
  const ContentHash sha256 = Sha256(7);
  EXPECT_EQ(FileKey(sha256).view(), sha256.ToKeyBytes());
  const ContentHash sha1(ContentHash::Kind::kGitSha1, sha256.data());
  EXPECT_EQ(FileKey(sha1).view(), sha1.ToKeyBytes());
  EXPECT_EQ(FileKey(sha1).view().size(), 21u);
}

TEST(LmdbFormatTest, BlockKeysSortByFileThenIndex) {
  const ContentHash f = Sha256(1), g = Sha256(2);
  EXPECT_LT(BlockKey(f, 0).view(), BlockKey(f, 1).view());
  EXPECT_LT(BlockKey(f, 255).view(), BlockKey(f, 256).view());  // big-endian
  EXPECT_LT(BlockKey(f, 0xffffffff).view(), BlockKey(g, 0).view());
  EXPECT_EQ(BlockKey(f, 9).file_prefix(), f.ToKeyBytes());
}

TEST(LmdbFormatTest, BlockIndexOnlyForTheOwningFile) {
  const ContentHash f = Sha256(1), g = Sha256(2);
  const std::string fk = f.ToKeyBytes();
  EXPECT_EQ(BlockIndexIfOwned(BlockKey(f, 0x01020304).view(), fk), 0x01020304u);
  EXPECT_FALSE(BlockIndexIfOwned(BlockKey(g, 3).view(), fk));
  EXPECT_FALSE(BlockIndexIfOwned(fk, fk));
  const ContentHash sha1(ContentHash::Kind::kGitSha1, f.data());
  EXPECT_FALSE(BlockIndexIfOwned(BlockKey(sha1, 3).view(), fk));
}

TEST(LmdbFormatTest, FileRecordRoundTrips) {
  FileRecord r;
  r.size = (5ull << 40) + 3;
  r.last_access = 1'700'000'123;
  r.complete = true;
  const std::string bytes = EncodeFileRecord(r);
  EXPECT_EQ(bytes.size(), kFileRecordSize);
  auto back = DecodeFileRecord(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size, r.size);
  EXPECT_EQ(back->last_access, r.last_access);
  EXPECT_TRUE(back->complete);
  EXPECT_FALSE(back->failed_verification);
  EXPECT_FALSE(DecodeFileRecord(bytes.substr(1)));

  r.complete = false;
  r.failed_verification = true;
  back = DecodeFileRecord(EncodeFileRecord(r));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->complete);
  EXPECT_TRUE(back->failed_verification);
}

TEST(LmdbFormatTest, TheFailedVerificationMarkIsABitFormatOneLeftZero) {
  // A record written before the mark existed reads as not failed, and an
  // older daemon reading a marked record still sees its complete bit.
  FileRecord r;
  r.complete = true;
  std::string bytes = EncodeFileRecord(r);
  EXPECT_EQ(static_cast<uint8_t>(bytes[16]), 1);
  EXPECT_FALSE(DecodeFileRecord(bytes)->failed_verification);
  r.complete = false;
  r.failed_verification = true;
  bytes = EncodeFileRecord(r);
  EXPECT_EQ(static_cast<uint8_t>(bytes[16]), 2);
}

TEST(LmdbFormatTest, TheEpochLivesInBytesFormatOneLeftZero) {
  // A record written before epochs existed reads as epoch 0 ("none yet"),
  // and the flags and fields an older daemon reads are where they were.
  FileRecord r;
  r.size = 77;
  r.complete = true;
  std::string legacy = EncodeFileRecord(r);
  EXPECT_EQ(DecodeFileRecord(legacy)->epoch, 0u);
  r.epoch = kMaxFileEpoch;
  const std::string bytes = EncodeFileRecord(r);
  EXPECT_EQ(bytes.size(), kFileRecordSize);
  EXPECT_EQ(bytes.substr(0, 17), legacy.substr(0, 17));
  EXPECT_EQ(DecodeFileRecord(bytes)->epoch, kMaxFileEpoch);
  r.epoch = 0x0102030405;
  EXPECT_EQ(DecodeFileRecord(EncodeFileRecord(r))->epoch, 0x0102030405u);
}

TEST(LmdbFormatTest, BlockCountAndLengths) {
  EXPECT_EQ(BlockCount(0, 10), 0u);
  EXPECT_EQ(BlockCount(1, 10), 1u);
  EXPECT_EQ(BlockCount(10, 10), 1u);
  EXPECT_EQ(BlockCount(11, 10), 2u);
  EXPECT_EQ(BlockLength(25, 10, 0), 10u);
  EXPECT_EQ(BlockLength(25, 10, 2), 5u);
  EXPECT_EQ(BlockLength(25, 10, 3), 0u);
  EXPECT_EQ(BlockLength(20, 10, 1), 10u);
}

}  // namespace
}  // namespace hfm
