// HubClient over several endpoints: failover on each kind of endpoint
// failure, resumption across endpoints, return to the primary, server waits
// against the deadline, and shutdown.
#include <gtest/gtest.h>

#include "tests/fetch/mirror_test_util.h"

namespace hfm {
namespace {

using std::chrono::seconds;

TEST_F(MirrorTest, ConnectErrorMovesToTheNextEndpointAndStaysThereWhileItBacksOff) {
  transport_.On(RevisionUrl(kHubA, "main"), Fail(Status::Unavailable("connect: connection refused")));
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  auto client = Client({kHubA, kHubB});
  auto commit = client->ResolveRevision(kMirrorRepo, "main", Deadline());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(*commit, kCommit);
  EXPECT_EQ(CountTo(kHubA), 1);
  EXPECT_EQ(CountTo(kHubB), 1);
  // The next request does not wait for the primary to fail again.
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 1);
  EXPECT_EQ(CountTo(kHubB), 2);
  EXPECT_TRUE(transport_.waits().empty());  // failing over costs no sleep
}

TEST_F(MirrorTest, TrafficReturnsToThePrimaryWhenItRecovers) {
  transport_.Then(RevisionUrl(kHubA, "main"), Reply(503));
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  auto client = Client({kHubA, kHubB});
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(StatsOf(*client, kHubA).state, "backing-off");
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 1);
  EXPECT_EQ(CountTo(kHubB), 2);
  // The first backoff is at most endpoint_backoff_base (1 s).
  clock_.Advance(seconds(1));
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 3);
  EXPECT_EQ(CountTo(kHubB), 2);
  EXPECT_EQ(StatsOf(*client, kHubA).state, "healthy");
}

TEST_F(MirrorTest, EveryRetryableStatusFailsOver) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    FakeTransport transport;
    FakeClock clock;
    HubClientOptions options;
    options.endpoints = {kHubA, kHubB};
    options.transport = &transport;
    options.clock = &clock;
    options.retry_backoff_base = Duration::zero();
    transport.On(RevisionUrl(kHubA, "main"), Reply(status));
    transport.On(RevisionUrl(kHubB, "main"), ShaReply());
    auto commit = NewHubClient(options)->ResolveRevision(kMirrorRepo, "main", clock.Now() + seconds(30));
    EXPECT_TRUE(commit.ok()) << status << ": " << commit.status().ToString();
    EXPECT_EQ(transport.CountForHost("hub-b.test"), 1) << status;
  }
}

TEST_F(MirrorTest, TimeoutAndRedirectLoopAndGarbageFailOver) {
  transport_.On(TreeUrl(kHubA), Fail(Status::DeadlineExceeded("operation timed out")));
  transport_.On(TreeUrl(kHubB), Reply(302).Header("location", TreeUrl(kHubB)));
  transport_.On(TreeUrl(kHubC), TreeReply());
  auto client = Client({kHubA, kHubB, kHubC});
  auto entries = client->ListTree(kMirrorRepo, kCommit, Deadline());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);

  transport_.On(RevisionUrl(kHubA, "main"), Reply(200, "<html>maintenance</html>"));
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  clock_.Advance(seconds(60));  // everyone healthy again
  auto commit = client->ResolveRevision(kMirrorRepo, "main", Deadline());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
}

TEST_F(MirrorTest, SlowTransferMovesOnAndResumesFromTheByteReached) {
  // hub-a sends 300 bytes, then trickles below the speed floor (the
  // transport reports DeadlineExceeded before the request's deadline).
  FakeResponse slow = Fail(Status::DeadlineExceeded("transfer below 1024 B/s for 10 s"), content_.substr(0, 300));
  slow.status = 206;
  slow.Header("content-range", "bytes 0-999/1000");
  transport_.Then(ResolveUrl(kHubA), slow);
  ServeFile(kHubB);
  auto client = Client({kHubA, kHubB});
  StringRangeSink sink;
  Status s = client->FetchRange(file_, 0, 1000, &sink, Deadline());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content_);
  const auto a = RequestsTo(kHubA);
  const auto b = RequestsTo(kHubB);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(RequestHeader(b[0], "Range"), "bytes=300-999");
  // The floor the options set reached the transport.
  EXPECT_EQ(a[0].low_speed_bytes, 1024);
  EXPECT_EQ(a[0].low_speed_seconds, 10);
  EXPECT_EQ(a[0].connect_timeout, seconds(10));
  EXPECT_EQ(StatsOf(*client, kHubA).bytes, 300u);
  EXPECT_EQ(StatsOf(*client, kHubB).bytes, 700u);
}

TEST_F(MirrorTest, BrokenTransfersResumeAcrossEndpointsDeliveringEachByteOnce) {
  auto cut = [this](uint64_t first, size_t n) {
    FakeResponse r = Fail(Status::Unavailable("connection reset by peer"), content_.substr(first, n));
    r.status = 206;
    r.Header("content-range", "bytes " + std::to_string(first) + "-899/1000");
    return r;
  };
  transport_.Then(ResolveUrl(kHubA), cut(100, 123));
  transport_.Then(ResolveUrl(kHubB), cut(223, 200));
  ServeFile(kHubA);
  ServeFile(kHubB);
  auto client = Client({kHubA, kHubB});
  StringRangeSink sink;
  Status s = client->FetchRange(file_, 100, 800, &sink, Deadline());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content_.substr(100, 800));
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].url, ResolveUrl(kHubA));
  EXPECT_EQ(RequestHeader(requests[0], "Range"), "bytes=100-899");
  EXPECT_EQ(requests[1].url, ResolveUrl(kHubB));
  EXPECT_EQ(RequestHeader(requests[1], "Range"), "bytes=223-899");
  // Both failed once; the primary goes first again.
  EXPECT_EQ(requests[2].url, ResolveUrl(kHubA));
  EXPECT_EQ(RequestHeader(requests[2], "Range"), "bytes=423-899");
}

TEST_F(MirrorTest, WrongContentRangeAndShortBodyEndInCorrectBytes) {
  transport_.Then(ResolveUrl(kHubA),
                  Reply(206, content_.substr(0, 50)).Header("content-range", "bytes 0-49/1000"));
  // Correct Content-Range, body cut short without an error.
  transport_.Then(ResolveUrl(kHubB),
                  Reply(206, content_.substr(100, 10)).Header("content-range", "bytes 100-199/1000"));
  ServeFile(kHubA);
  ServeFile(kHubB);
  auto client = Client({kHubA, kHubB});
  StringRangeSink sink;
  Status s = client->FetchRange(file_, 100, 100, &sink, Deadline());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content_.substr(100, 100));
  EXPECT_NE(StatsOf(*client, kHubA).last_error.find("Content-Range"), std::string::npos);
}

TEST_F(MirrorTest, RetryAfterOn429ShiftsTrafficUntilItEnds) {
  transport_.On(RevisionUrl(kHubA, "main"), Reply(429).Header("retry-after", "30"));
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  auto client = Client({kHubA, kHubB});
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(StatsOf(*client, kHubA).state, "rate-limited");
  // Its health backoff is long over, but the server asked for 30 s.
  clock_.Advance(seconds(20));
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 1);
  // File requests count against another bucket: they may go to hub-a.
  ServeFile(kHubA);
  StringRangeSink sink;
  ASSERT_TRUE(client->FetchRange(file_, 0, 10, &sink, Deadline()).ok());
  EXPECT_EQ(CountTo(ResolveUrl(kHubA)), 1);
  clock_.Advance(seconds(10));
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(RevisionUrl(kHubA, "main")), 2);
  EXPECT_TRUE(transport_.waits().empty());
}

TEST_F(MirrorTest, SingleEndpointSleepsUntilRetryAfterWithinTheDeadline) {
  transport_.Then(RevisionUrl(kHubA, "main"), Reply(429).Header("retry-after", "5"));
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  auto client = Client({kHubA});
  const TimePoint start = clock_.Now();
  auto commit = client->ResolveRevision(kMirrorRepo, "main", Deadline());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(CountTo(kHubA), 2);
  // Not a moment before the server allowed.
  EXPECT_EQ(clock_.Now() - start, seconds(5));
}

TEST_F(MirrorTest, RateLimitPastTheDeadlineIsWaitedOutThenFails) {
  transport_.On(RevisionUrl(kHubA, "main"),
                Reply(429).Header("ratelimit", "\"api\";r=0;t=42").Header("ratelimit-policy", "\"fixed window\";\"api\";q=500;w=300"));
  auto client = Client({kHubA}, seconds(1));
  const TimePoint start = clock_.Now();
  auto r = client->ResolveRevision(kMirrorRepo, "main", start + seconds(10));
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(CountTo(kHubA), 1);
  // It waited out its own deadline (the wait may end sooner than said), not
  // the server's 42 s.
  EXPECT_EQ(clock_.Now() - start, seconds(10));
  // Later calls whose deadline ends inside the window do not knock again;
  // one after it does.
  r = client->ResolveRevision(kMirrorRepo, "main", clock_.Now() + seconds(10));
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("wait"), std::string::npos) << r.status().message();
  EXPECT_EQ(CountTo(kHubA), 1);
  clock_.Advance(seconds(22));
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  EXPECT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 2);
}

TEST_F(MirrorTest, RetriesAreJitteredAndNeverPassTheDeadline) {
  transport_.On(RevisionUrl(kHubA, "main"), Reply(503));
  transport_.On(RevisionUrl(kHubB, "main"), Fail(Status::Unavailable("connection refused")));
  auto client = Client({kHubA, kHubB}, seconds(1));
  const TimePoint deadline = clock_.Now() + seconds(3);
  auto r = client->ResolveRevision(kMirrorRepo, "main", deadline);
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_LT(clock_.Now(), deadline);
  const auto waits = transport_.waits();
  ASSERT_FALSE(waits.empty());
  // Rounds of both endpoints, a jittered backoff between rounds.
  EXPECT_EQ(transport_.requests().size(), 2 * (waits.size() + 1));
  EXPECT_GE(waits[0], std::chrono::milliseconds(500));
  EXPECT_LE(waits[0], seconds(1));
  // The message names every endpoint that failed.
  EXPECT_NE(r.status().message().find("hub-a.test"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("hub-b.test"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find(kToken), std::string::npos);
}

TEST_F(MirrorTest, PermanentAnswersAreFinal) {
  transport_.On(RevisionUrl(kHubA, "main"), Reply(403).Header("x-error-code", "GatedRepo"));
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  auto client = Client({kHubA, kHubB});
  EXPECT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).status().IsPermissionDenied());
  transport_.On(RevisionUrl(kHubA, "dev"), NotFoundReply("RevisionNotFound"));
  transport_.On(RevisionUrl(kHubB, "dev"), ShaReply());
  EXPECT_TRUE(client->ResolveRevision(kMirrorRepo, "dev", Deadline()).status().IsNotFound());
  EXPECT_EQ(CountTo(kHubB), 0);
  EXPECT_EQ(StatsOf(*client, kHubA).state, "healthy");
}

TEST_F(MirrorTest, CancelAllEndsCallsAtOnce) {
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  auto client = Client({kHubA, kHubB}, seconds(1));
  transport_.CancelAll();
  auto r = client->ResolveRevision(kMirrorRepo, "main", Deadline());
  EXPECT_TRUE(r.status().IsUnavailable());
  EXPECT_NE(r.status().message().find("shutting down"), std::string::npos) << r.status().message();
  EXPECT_EQ(clock_.Now(), TimePoint());  // no time spent waiting
}

TEST_F(MirrorTest, EndpointListWinsAndIsNormalised) {
  HubClientOptions options;
  options.endpoint = "https://ignored.test";
  options.endpoints = {kHubA + "/", "", kHubB, kHubA};
  options.transport = &transport_;
  options.clock = &clock_;
  auto client = NewHubClient(options);
  EXPECT_EQ(client->endpoint(), kHubA);
  const auto stats = client->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[1].endpoint, kHubB);

  options.endpoints.clear();
  for (int i = 0; i < 65; ++i) options.endpoints.push_back("https://m" + std::to_string(i) + ".test");
  EXPECT_EQ(NewHubClient(options)->ResolveRevision(kMirrorRepo, "main", Deadline()).status().code(),
            Status::Code::kInvalidArgument);
  options.endpoints = {kHubA, "ftp://bad"};
  EXPECT_EQ(NewHubClient(options)->ResolveRevision(kMirrorRepo, "main", Deadline()).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(MirrorTest, ApiCallsGetTheSpeedFloorOnlyWithSomewhereToGo) {
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  ASSERT_TRUE(Client({kHubA})->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  ASSERT_TRUE(Client({kHubA, kHubB})->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].low_speed_seconds, 0);
  EXPECT_EQ(requests[1].low_speed_seconds, 10);
}

}  // namespace
}  // namespace hfm
