// ReadDispatcher: reads run on a bounded set of threads, wait in a bounded
// queue, and never hold more than a bounded number of FUSE workers, so
// metadata always finds one while reads stall.
#include "fs/fuse/read_dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "tests/eventually.h"

namespace hfm {
namespace {

using testing::Eventually;

// Reads that stall until released, as on a mirror that sends nothing.
class StalledReads {
 public:
  ReadDispatcher::Job Job() {
    return ReadDispatcher::Job{[this](const ReadDispatcher::MayAnswer& may_answer) {
                                 MutexLock lock(&mu_);
                                 ++started_;
                                 released_cv_.Wait(&mu_, [&]() REQUIRES(mu_) { return released_; });
                                 ++(may_answer() ? done_ : dropped_);
                               },
                               [this](const Status& status) {
                                 MutexLock lock(&mu_);
                                 refusals_.push_back(status.code());
                               }};
  }
  void Release() {
    MutexLock lock(&mu_);
    released_ = true;
    released_cv_.SignalAll();
  }
  int started() {
    MutexLock lock(&mu_);
    return started_;
  }
  int done() {
    MutexLock lock(&mu_);
    return done_;
  }
  // Reads that ended after the dispatcher had answered them.
  int dropped() {
    MutexLock lock(&mu_);
    return dropped_;
  }
  std::vector<Status::Code> refusals() {
    MutexLock lock(&mu_);
    return refusals_;
  }

 private:
  Mutex mu_;
  CondVar released_cv_{&mu_};
  bool released_ GUARDED_BY(mu_) = false;
  int started_ GUARDED_BY(mu_) = 0;
  int done_ GUARDED_BY(mu_) = 0;
  int dropped_ GUARDED_BY(mu_) = 0;
  std::vector<Status::Code> refusals_ GUARDED_BY(mu_);
};

ReadDispatcher::Options Small(int threads, size_t capacity, int waiting) {
  ReadDispatcher::Options o;
  o.threads = threads;
  o.queue_capacity = capacity;
  o.max_waiting_submitters = waiting;
  return o;
}

TEST(ReadDispatcherTest, StalledReadsTakeOnlyItsThreadsAndSubmitReturnsAtOnce) {
  StalledReads reads;
  ReadDispatcher dispatcher(Small(/*threads=*/3, /*capacity=*/5, /*waiting=*/1));
  // Eight stalled reads: three run, five queue, and no submitter waited
  // (this thread would hang here otherwise).
  for (int i = 0; i < 8; ++i) dispatcher.Submit(reads.Job());
  ASSERT_TRUE(Eventually([&] { return reads.started() == 3; }));
  const auto load = dispatcher.load();
  EXPECT_EQ(load.running, 3);
  EXPECT_EQ(load.queued, 5u);
  EXPECT_EQ(load.waiting_submitters, 0);
  reads.Release();
  EXPECT_TRUE(Eventually([&] { return reads.done() == 8; }));
  EXPECT_TRUE(reads.refusals().empty());
}

TEST(ReadDispatcherTest, AFullQueueHoldsAtMostTheAllowedSubmittersAndRefusesTheRest) {
  StalledReads reads;
  ReadDispatcher dispatcher(Small(/*threads=*/1, /*capacity=*/1, /*waiting=*/2));
  dispatcher.Submit(reads.Job());  // runs, stalled
  ASSERT_TRUE(Eventually([&] { return reads.started() == 1; }));
  dispatcher.Submit(reads.Job());  // queued
  // Two FUSE workers wait for room...
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) workers.emplace_back([&] { dispatcher.Submit(reads.Job()); });
  ASSERT_TRUE(Eventually([&] { return dispatcher.load().waiting_submitters == 2; }));
  // ...and a third is answered at once, so it is free for a lookup.
  dispatcher.Submit(reads.Job());
  EXPECT_EQ(reads.refusals(), std::vector<Status::Code>{Status::Code::kResourceExhausted});
  reads.Release();
  for (auto& w : workers) w.join();
  EXPECT_TRUE(Eventually([&] { return reads.done() == 4; }));
}

TEST(ReadDispatcherTest, AReadQueuedPastTheTimeoutIsRefusedThenWhileEveryThreadIsBusy) {
  FakeClock clock;
  StalledReads reads;
  ReadDispatcher::Options o = Small(/*threads=*/1, /*capacity=*/4, /*waiting=*/1);
  o.queue_timeout = std::chrono::seconds(10);
  o.clock = &clock;
  ReadDispatcher dispatcher(o);
  dispatcher.Submit(reads.Job());
  ASSERT_TRUE(Eventually([&] { return reads.started() == 1; }));
  dispatcher.Submit(reads.Job());
  clock.Advance(std::chrono::seconds(9));
  dispatcher.Submit(reads.Job());
  clock.Advance(std::chrono::seconds(2));
  // The first queued read is answered at its timeout, though the only
  // thread is still stalled; the second has time left.
  EXPECT_TRUE(Eventually([&] { return reads.refusals().size() == 1; }));
  EXPECT_EQ(reads.refusals(), std::vector<Status::Code>{Status::Code::kDeadlineExceeded});
  EXPECT_EQ(dispatcher.load().queued, 1u);
  reads.Release();
  EXPECT_TRUE(Eventually([&] { return reads.done() == 2; }));
  EXPECT_EQ(reads.refusals().size(), 1u);
}

TEST(ReadDispatcherTest, AReadRunningPastItsDeadlineIsAnsweredOnceThen) {
  FakeClock clock;
  StalledReads reads;
  ReadDispatcher::Options o = Small(/*threads=*/1, /*capacity=*/4, /*waiting=*/1);
  o.queue_timeout = std::chrono::seconds(10);
  o.run_timeout = std::chrono::seconds(5);
  o.clock = &clock;
  ReadDispatcher dispatcher(o);
  dispatcher.Submit(reads.Job());
  ASSERT_TRUE(Eventually([&] { return reads.started() == 1; }));
  clock.Advance(std::chrono::seconds(4));
  EXPECT_TRUE(reads.refusals().empty());
  clock.Advance(std::chrono::seconds(2));
  // Answered at its deadline while the read path still holds it...
  EXPECT_TRUE(Eventually([&] { return reads.refusals().size() == 1; }));
  EXPECT_EQ(reads.refusals(), std::vector<Status::Code>{Status::Code::kDeadlineExceeded});
  EXPECT_EQ(dispatcher.load().running, 1);
  // ...and the read's own answer, when it comes, is not given a second time.
  reads.Release();
  EXPECT_TRUE(Eventually([&] { return reads.dropped() == 1; }));
  EXPECT_EQ(reads.done(), 0);
}

TEST(ReadDispatcherTest, StoppingRefusesWhatIsQueuedAndWaitsForWhatRuns) {
  StalledReads reads;
  auto dispatcher = std::make_unique<ReadDispatcher>(Small(/*threads=*/1, /*capacity=*/4, /*waiting=*/1));
  dispatcher->Submit(reads.Job());
  ASSERT_TRUE(Eventually([&] { return reads.started() == 1; }));
  dispatcher->Submit(reads.Job());
  dispatcher->Submit(reads.Job());
  std::thread stopper([&] { dispatcher.reset(); });
  EXPECT_TRUE(Eventually([&] { return reads.refusals().size() == 2; }));
  reads.Release();
  stopper.join();
  EXPECT_EQ(reads.done(), 1);
  EXPECT_EQ(reads.refusals(), (std::vector<Status::Code>{Status::Code::kUnavailable, Status::Code::kUnavailable}));
}

}  // namespace
}  // namespace hfm
