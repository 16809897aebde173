// WorkQueue's cap on jobs running at once (SetActive): the read path raises
// it on a far link and keeps it at fetch_threads on a near one.
#include "fs/read/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>

#include "util/mutex.h"

namespace hfm {
namespace {

// Jobs that hold until released, counting how many run at once.
class Gate {
 public:
  void Job() {
    MutexLock lock(&mu_);
    ++running_;
    max_running_ = std::max(max_running_, running_);
    cv_.SignalAll();
    while (!open_) cv_.Wait(&mu_);
    --running_;
    ++done_;
    cv_.SignalAll();
  }
  void AwaitRunning(int n) {
    MutexLock lock(&mu_);
    while (running_ < n) cv_.Wait(&mu_);
  }
  void AwaitDone(int n) {
    MutexLock lock(&mu_);
    while (done_ < n) cv_.Wait(&mu_);
  }
  void Open() {
    MutexLock lock(&mu_);
    open_ = true;
    cv_.SignalAll();
  }
  int running() {
    MutexLock lock(&mu_);
    return running_;
  }
  int max_running() {
    MutexLock lock(&mu_);
    return max_running_;
  }

 private:
  Mutex mu_;
  CondVar cv_{&mu_};
  int running_ GUARDED_BY(mu_) = 0;
  int max_running_ GUARDED_BY(mu_) = 0;
  int done_ GUARDED_BY(mu_) = 0;
  bool open_ GUARDED_BY(mu_) = false;
};

TEST(WorkQueueTest, SetActiveCapsJobsRunningAtOnceAndRaisingItLetsMoreRun) {
  Gate gate;
  WorkQueue queue(8);
  queue.SetActive(3);
  for (int i = 0; i < 8; ++i) queue.Submit([&gate] { gate.Job(); });
  gate.AwaitRunning(3);
  queue.SetActive(6);  // a far link: more at once
  gate.AwaitRunning(6);
  gate.Open();
  gate.AwaitDone(8);
  EXPECT_EQ(gate.max_running(), 6);
  EXPECT_EQ(queue.active(), 6);
  queue.SetActive(100);
  EXPECT_EQ(queue.active(), 8);  // never past the threads it has
}

}  // namespace
}  // namespace hfm
