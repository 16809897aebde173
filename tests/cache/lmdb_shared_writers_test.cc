// Two processes on one cache directory: a writer stopped in the middle of a
// write transaction delays this process's writes only boundedly (the write is
// skipped, reads go on), and a map grown by the other process is adopted.
// The other process is a fork made before this one opens anything.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

#include "cache/block_store.h"
#include "cache/lmdb_cache.h"
#include "cache/lmdb_env.h"
#include "tests/cache/cache_test_util.h"
#include "tests/eventually.h"

namespace hfm {
namespace {

using testing::BlockBytes;
using testing::Sha256;
using testing::TempDir;

constexpr uint32_t kBlock = 64 << 10;
constexpr auto kLockTimeout = std::chrono::milliseconds(2000);

// A child process that runs `body` once the parent says go; killed (if
// still there) and reaped when this goes out of scope.
class Child {
 public:
  template <typename Body>
  explicit Child(Body body) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[1]);
      char byte;
      if (::read(fds[0], &byte, 1) != 1) ::_exit(9);
      ::_exit(body());  // _exit: the parent's objects are not the child's to destroy
    }
    ::close(fds[0]);
    go_ = fds[1];
  }
  ~Child() { Kill(); }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Go() {
    EXPECT_EQ(::write(go_, "g", 1), 1);
    ::close(go_);
  }
  // Waits for the child to stop itself (SIGSTOP) or exit; true if stopped.
  bool WaitStopped() {
    int status = 0;
    return ::waitpid(pid_, &status, WUNTRACED) == pid_ && WIFSTOPPED(status);
  }
  int WaitExit() {
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
};

CacheOptions Options(const std::string& dir, uint64_t quota) {
  CacheOptions o;
  o.directory = dir;
  o.max_bytes = quota;
  o.block_size = kBlock;
  return o;
}

TEST(LmdbSharedWritersTest, AStoppedWriterElsewhereCostsOneBoundedWaitThenWritesAreSkipped) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache";
  Child writer([&] {
    auto env = LmdbEnv::Open({dir, 8 << 20});
    if (!env.ok()) return 10;
    // Stops holding a write transaction, as a CLI under SIGSTOP would.
    Status s = (*env)->Write([](MDB_txn*) {
      ::raise(SIGSTOP);
      return Status::Ok();
    });
    return s.ok() ? 0 : 11;
  });
  FakeClock clock;
  LmdbCacheTuning tuning;
  tuning.clock = &clock;
  tuning.write_lock_timeout = kLockTimeout;
  auto cache = OpenLmdbCache(Options(dir, 8 << 20), tuning);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  ASSERT_TRUE(cache->blocks->PutBlock(Sha256(1), 0, BlockBytes(1, 0, kBlock)).ok());
  writer.Go();
  ASSERT_TRUE(writer.WaitStopped());

  // The write waits one lock timeout on the clock, then gives up.
  auto put = std::async(std::launch::async,
                        [&] { return cache->blocks->PutBlock(Sha256(2), 0, BlockBytes(2, 0, kBlock)); });
  const bool waits_on_clock = testing::Eventually([&] { return clock.waiters() > 0; });
  clock.Advance(kLockTimeout);
  const bool gave_up = testing::Eventually(
      [&] { return put.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
  if (!gave_up) writer.Kill();  // lets LMDB's own lock go, so the test can end
  ASSERT_TRUE(waits_on_clock && gave_up) << "a write waited on the stopped writer without bound";
  Status s = put.get();
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  // Reads go on meanwhile.
  std::string buf(kBlock, '\0');
  auto r = cache->blocks->ReadBlock(Sha256(1), 0, 0, buf);
  ASSERT_TRUE(r.ok() && *r);
  // While the holder stays stopped, later writes wait only a fraction.
  auto again = std::async(std::launch::async,
                          [&] { return cache->blocks->PutBlock(Sha256(3), 0, BlockBytes(3, 0, kBlock)); });
  ASSERT_TRUE(testing::Eventually([&] { return clock.waiters() > 0; }));
  clock.Advance(kLockTimeout / 10);
  ASSERT_TRUE(testing::Eventually(
      [&] { return again.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }));
  EXPECT_TRUE(again.get().IsUnavailable());
}

TEST(LmdbSharedWritersTest, AMapGrownByAnotherProcessIsAdopted) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache";
  constexpr uint64_t kSmall = 2 << 20, kLarge = 64 << 20;
  Child grower([&] {
    // A larger max_bytes, and more data than the small map holds.
    auto other = OpenLmdbCache(Options(dir, kLarge));
    if (!other.ok()) return 10;
    for (uint32_t i = 0; i < 96; ++i) {
      if (!other->blocks->PutBlock(Sha256(9), i, BlockBytes(9, i, kBlock)).ok()) return 11;
    }
    return 0;
  });
  auto cache = OpenLmdbCache(Options(dir, kSmall));
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  grower.Go();
  ASSERT_EQ(grower.WaitExit(), 0);

  std::string buf(kBlock, '\0');
  auto r = cache->blocks->ReadBlock(Sha256(9), 95, 0, buf);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(*r);
  EXPECT_EQ(buf, BlockBytes(9, 95, kBlock));
  Status put = cache->blocks->PutBlock(Sha256(1), 0, BlockBytes(1, 0, kBlock));
  EXPECT_TRUE(put.ok()) << put.ToString();
}

}  // namespace
}  // namespace hfm
