// TransportPool: which member an exchange goes to, and cancelling.
#include "fetch/transport_pool.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/fetch/fake_transport.h"

namespace hfm {
namespace {

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  return r;
}

class TransportPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::unique_ptr<HttpTransport>> members;
    for (int i = 0; i < 2; ++i) {
      auto fake = std::make_unique<FakeTransport>();
      fake->OnAny([](const HttpRequest& r) -> std::optional<FakeResponse> {
        if (r.url.find("/slow") != std::string::npos) return std::nullopt;  // a test's own handler
        return Reply(200, "ok");
      });
      fakes_.push_back(fake.get());
      members.push_back(std::move(fake));
    }
    pool_ = NewTransportPool(std::move(members));
  }

  std::vector<FakeTransport*> fakes_;  // owned by pool_
  std::unique_ptr<HttpTransport> pool_;
};

TEST_F(TransportPoolTest, OneExchangeAtATimeAlwaysUsesTheFirstMember) {
  for (int i = 0; i < 5; ++i) {
    StringSink sink(1 << 10);
    auto head = pool_->Perform(Get("http://a.test/" + std::to_string(i)), &sink);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(sink.body(), "ok");
  }
  EXPECT_EQ(fakes_[0]->requests().size(), 5u) << "its connections stay warm";
  EXPECT_EQ(fakes_[1]->requests().size(), 0u);
}

TEST_F(TransportPoolTest, AnExchangeStartedWhileAnotherRunsGoesToAnIdleMember) {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  fakes_[0]->OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url != "http://a.test/slow") return std::nullopt;
    std::unique_lock<std::mutex> lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return Reply(200, "slow");
  });
  std::thread slow([&] {
    StringSink sink(1 << 10);
    EXPECT_TRUE(pool_->Perform(Get("http://a.test/slow"), &sink).ok());
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  StringSink sink(1 << 10);
  ASSERT_TRUE(pool_->Perform(Get("http://a.test/quick"), &sink).ok());
  EXPECT_EQ(fakes_[1]->requests().size(), 1u) << "the quick one did not queue behind the slow one";
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  }
  slow.join();
  StringSink after(1 << 10);
  ASSERT_TRUE(pool_->Perform(Get("http://a.test/later"), &after).ok());
  EXPECT_EQ(fakes_[0]->requests().size(), 2u) << "with both idle again, the first member";
}

TEST_F(TransportPoolTest, CancelAllCancelsEveryMember) {
  pool_->CancelAll();
  EXPECT_FALSE(pool_->WaitFor(std::chrono::milliseconds(1)));
  for (int i = 0; i < 2; ++i) {
    StringSink sink(1 << 10);
    EXPECT_FALSE(fakes_[i]->Perform(Get("http://a.test/x"), &sink).ok());
  }
}

}  // namespace
}  // namespace hfm
