// What the LMDB cache adds to the contract: the directory, persistence, the
// format check, sharing between processes, and recovery after a crash.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "cache/block_store.h"
#include "cache/lmdb_cache.h"
#include "cache/unsynced_marker.h"
#include "tests/cache/cache_test_util.h"
#include "tests/eventually.h"

namespace hfm {
namespace {

using testing::BlockBytes;
using testing::Sha256;
using testing::TempDir;

constexpr uint32_t kBlock = 64 << 10;

class LmdbCacheTest : public ::testing::Test {
 protected:
  CacheOptions Options() const {
    CacheOptions o;
    o.directory = dir_.path() + "/cache";
    o.max_bytes = 64ull << 20;
    o.block_size = kBlock;
    return o;
  }
  Cache Open() { return Open(Options()); }
  Cache Open(const CacheOptions& o) {
    auto cache = OpenLmdbCache(o);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    return cache.ok() ? std::move(cache).value() : Cache{};
  }
  std::string CacheDir() const { return dir_.path() + "/cache"; }
  // Unsynced markers, this process's own (which any write creates) aside.
  std::vector<std::string> OtherMarkers() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(CacheDir())) {
      const std::string name = e.path().filename().string();
      if (name.rfind("unsynced.", 0) == 0 && name != OwnMarkerName()) out.push_back(name);
    }
    return out;
  }
  static std::string OwnMarkerName() { return "unsynced." + std::to_string(::getpid()); }
  bool OwnMarkerExists() const { return std::filesystem::exists(CacheDir() + "/" + OwnMarkerName()); }
  void WriteMarker(pid_t pid, const std::string& boot) {
    std::ofstream(CacheDir() + "/unsynced." + std::to_string(pid)) << boot << "\n";
  }
  static bool Has(Cache& c, const ContentHash& f, uint32_t i) {
    auto r = c.blocks->HasBlock(f, i);
    return r.ok() && *r;
  }

  TempDir dir_;
};

TEST_F(LmdbCacheTest, CreatesMissingDirectoriesPrivately) {
  CacheOptions o = Options();
  o.directory = dir_.path() + "/a/b/cache";
  Cache c = Open(o);
  ASSERT_TRUE(c.blocks);
  struct stat st;
  ASSERT_EQ(::stat(o.directory.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::exists(o.directory + "/data.mdb"));
}

TEST_F(LmdbCacheTest, RefusesAPathThatIsNotADirectory) {
  CacheOptions o = Options();
  o.directory = dir_.path() + "/file";
  std::ofstream(o.directory) << "not a directory";
  auto c = OpenLmdbCache(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("not a directory"), std::string::npos);
}

TEST_F(LmdbCacheTest, RefusesBadOptions) {
  CacheOptions o = Options();
  o.block_size = 0;
  EXPECT_EQ(OpenLmdbCache(o).status().code(), Status::Code::kInvalidArgument);
  o = Options();
  o.max_bytes = 1000;
  EXPECT_EQ(OpenLmdbCache(o).status().code(), Status::Code::kInvalidArgument);
  o = Options();
  o.directory = "";
  EXPECT_EQ(OpenLmdbCache(o).status().code(), Status::Code::kInvalidArgument);
  LmdbCacheTuning t;
  t.low_water = 0.95;
  EXPECT_EQ(OpenLmdbCache(Options(), t).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(LmdbCacheTest, RefusesASecondOpenInOneProcess) {
  Cache c = Open();
  CacheOptions o = Options();
  o.directory = dir_.path() + "/./cache";  // the same directory, spelled otherwise
  auto again = OpenLmdbCache(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kInvalidArgument);
  c = Cache{};
  EXPECT_TRUE(OpenLmdbCache(o).ok());  // closed: free to open again
}

TEST_F(LmdbCacheTest, BlocksCompleteMarksAndMetaSurviveReopen) {
  const ContentHash f = Sha256(1), g = Sha256(2);
  {
    Cache c = Open();
    ASSERT_TRUE(c.blocks->PutBlock(f, 0, BlockBytes(1, 0, kBlock)).ok());
    ASSERT_TRUE(c.blocks->PutBlock(f, 1, BlockBytes(1, 1, 10)).ok());
    ASSERT_TRUE(testing::MarkCompleteAsStored(*c.blocks, f, kBlock + 10).ok());
    ASSERT_TRUE(c.blocks->MarkFailedVerification(g).ok());
    ASSERT_TRUE(c.blocks->PutBlock(g, 0, BlockBytes(2, 0, kBlock)).ok());
    ASSERT_TRUE(c.meta->Put("rev/x", "sha").ok());
  }
  Cache c = Open();
  auto got = c.blocks->GetBlock(f, 1);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, BlockBytes(1, 1, 10));
  EXPECT_TRUE(*c.blocks->IsComplete(f));
  EXPECT_FALSE(*c.blocks->IsComplete(g));
  EXPECT_TRUE(Has(c, g, 0));
  EXPECT_TRUE(*c.blocks->FailedVerification(g));
  EXPECT_FALSE(*c.blocks->FailedVerification(f));
  EXPECT_EQ(**c.meta->Get("rev/x"), "sha");
  EXPECT_EQ(c.blocks->Stats().blocks, 3u);
}

TEST_F(LmdbCacheTest, RefusesADirectoryMadeWithAnotherBlockSize) {
  { Cache c = Open(); }
  CacheOptions o = Options();
  o.block_size = kBlock * 2;
  auto c = OpenLmdbCache(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("block_size"), std::string::npos);
}

TEST_F(LmdbCacheTest, StatsReportTheDataFile) {
  Cache c = Open();
  for (uint32_t i = 0; i < 16; ++i) ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), i, BlockBytes(1, i, kBlock)).ok());
  const BlockStoreStats s = c.blocks->Stats();
  EXPECT_EQ(s.blocks, 16u);
  EXPECT_EQ(s.block_bytes, 16u * kBlock);
  EXPECT_EQ(s.file_bytes, std::filesystem::file_size(CacheDir() + "/data.mdb"));
  EXPECT_GE(s.file_bytes, s.block_bytes);
  EXPECT_EQ(s.map_size, 64ull << 20);
}

TEST_F(LmdbCacheTest, AnotherProcessSharesTheDirectory) {
  // Fork before this process opens the cache (and starts its syncer thread),
  // then let the child go once the parent holds the environment open.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A second process with its own environment on the same files. _exit
    // skips destructors of objects that belong to the parent.
    ::close(go[1]);
    char byte;
    if (::read(go[0], &byte, 1) != 1) ::_exit(9);
    auto other = OpenLmdbCache(Options());
    if (!other.ok()) ::_exit(10);
    std::string buf(kBlock, '\0');
    auto r = other->blocks->ReadBlock(Sha256(1), 0, 0, buf);
    if (!r.ok() || !*r || buf != BlockBytes(1, 0, kBlock)) ::_exit(11);
    if (!other->blocks->PutBlock(Sha256(2), 0, BlockBytes(2, 0, kBlock)).ok()) ::_exit(12);
    if (!other->meta->Put("from", "child").ok()) ::_exit(13);
    other = Status::Internal("closed");  // closes the environment
    ::_exit(0);
  }
  ::close(go[0]);
  Cache c = Open();
  ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 0, BlockBytes(1, 0, kBlock)).ok());
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::string buf(kBlock, '\0');
  auto r = c.blocks->ReadBlock(Sha256(2), 0, 0, buf);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(buf, BlockBytes(2, 0, kBlock));
  EXPECT_EQ(**c.meta->Get("from"), "child");
}

TEST_F(LmdbCacheTest, CleanCloseLeavesNoUnsyncedMarker) {
  {
    Cache c = Open();
    ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 0, "x").ok());
    EXPECT_TRUE(OwnMarkerExists());  // unsynced commits exist until the syncer runs
  }
  EXPECT_FALSE(OwnMarkerExists());
  EXPECT_TRUE(OtherMarkers().empty());
}

TEST_F(LmdbCacheTest, MarkerFromAnEarlierBootWipesTheCache) {
  {
    Cache c = Open();
    ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 0, "x").ok());
    ASSERT_TRUE(c.meta->Put("k", "v").ok());
  }
  // As if the system lost power while some process had unsynced commits.
  WriteMarker(4242, "00000000-0000-0000-0000-000000000000");
  Cache c = Open();
  EXPECT_FALSE(Has(c, Sha256(1), 0));
  EXPECT_FALSE(c.meta->Get("k")->has_value());
  EXPECT_EQ(c.blocks->Stats().blocks, 0u);
  // Usable afterwards, and the old marker is gone.
  ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 0, "y").ok());
  EXPECT_TRUE(OtherMarkers().empty());
}

TEST_F(LmdbCacheTest, MarkerOfAProcessThatDiedThisBootKeepsTheCache) {
  {
    Cache c = Open();
    ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 0, "x").ok());
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // now a dead pid
  WriteMarker(child, CurrentBootId());
  Cache c = Open();
  EXPECT_TRUE(Has(c, Sha256(1), 0));
  EXPECT_TRUE(OtherMarkers().empty());
}

TEST_F(LmdbCacheTest, MarkerOfALiveProcessIsLeftAlone) {
  { Cache c = Open(); }
  WriteMarker(::getppid(), CurrentBootId());
  Cache c = Open();
  EXPECT_EQ(OtherMarkers(), std::vector<std::string>{"unsynced." + std::to_string(::getppid())});
}

}  // namespace
}  // namespace hfm

namespace hfm {
namespace {

// Kilobytes of this process's file-backed resident memory (the LMDB map's
// pages once touched).
uint64_t RssFileKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssFile:", 0) == 0) return std::stoull(line.substr(8));
  }
  return 0;
}

TEST(LmdbCacheResidentTest, ServingBlocksDoesNotMapThemIntoTheProcess) {
  testing::TempDir dir;
  CacheOptions o;
  o.directory = dir.path() + "/cache";
  o.max_bytes = 256ull << 20;
  o.block_size = 1 << 20;
  auto cache = OpenLmdbCache(o);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  const ContentHash file = testing::Sha256(7);
  constexpr uint32_t kBlocks = 96;
  for (uint32_t i = 0; i < kBlocks; ++i) {
    ASSERT_TRUE(cache->blocks->PutBlock(file, i, testing::BlockBytes(7, i, o.block_size)).ok());
  }
  const uint64_t before = RssFileKiB();
  std::string buf(o.block_size, '\0');
  for (uint32_t i = 0; i < kBlocks; ++i) {
    auto hit = cache->blocks->ReadBlock(file, i, 0, std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(hit.ok() && *hit);
    ASSERT_EQ(buf, testing::BlockBytes(7, i, o.block_size)) << "block " << i;
    auto got = cache->blocks->GetBlock(file, i);
    ASSERT_TRUE(got.ok() && got->has_value());
    ASSERT_EQ(**got, buf);
  }
  // 96 MiB served; the map's own pages (keys, the tree) may be touched.
  EXPECT_LT(RssFileKiB(), before + 16 * 1024) << "blocks were read through the map";
}

// Pages of data.mdb in the page cache (mincore over a mapping of the file).
size_t ResidentPages(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  struct stat st;
  ::fstat(fd, &st);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t length = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return 0;
  std::vector<unsigned char> in_core((length + page - 1) / page);
  size_t resident = 0;
  if (::mincore(map, length, in_core.data()) == 0) {
    for (unsigned char c : in_core) resident += c & 1;
  }
  ::munmap(map, length);
  return resident;
}

TEST_F(LmdbCacheTest, WillReadStartsReadingABlockBackIntoThePageCache) {
  Cache c = Open();
  const ContentHash f = Sha256(41);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(c.blocks->PutBlock(f, i, BlockBytes(41, i, kBlock)).ok());
  // Written back and dropped from the page cache, as after drop_caches.
  const std::string data = CacheDir() + "/data.mdb";
  const int fd = ::open(data.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fdatasync(fd), 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
  // What stays is what LMDB touched through its map (meta and tree pages, a
  // value's first page): less than the four blocks.
  const size_t before = ResidentPages(data);
  const size_t block_pages = kBlock / static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (before >= 4 * block_pages) GTEST_SKIP() << "the page cache keeps this file (tmpfs?)";
  c.blocks->WillRead(f, 9);  // absent: nothing to read
  c.blocks->WillRead(Sha256(42), 0);
  for (uint32_t i = 0; i < 4; ++i) c.blocks->WillRead(f, i);
  EXPECT_TRUE(testing::Eventually([&] { return ResidentPages(data) >= 4 * block_pages; }))
      << ResidentPages(data) << " pages resident, " << before << " before";
  std::string out(kBlock, '\0');
  auto read = c.blocks->ReadBlock(f, 2, 0, std::span<char>(out.data(), out.size()));
  ASSERT_TRUE(read.ok() && *read);
  EXPECT_EQ(out, BlockBytes(41, 2, kBlock));
}

}  // namespace
}  // namespace hfm
