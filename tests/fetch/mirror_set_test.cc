// MirrorSet: routing order, backoff and recovery on a FakeClock, server
// waits, skip memories, corrupt-file demotion and the tally.
#include "fetch/mirror_set.h"

#include <gtest/gtest.h>

#include "util/clock.h"

namespace hfm {
namespace {

using std::chrono::seconds;

class MirrorSetTest : public ::testing::Test {
 protected:
  MirrorSetTest() {
    options_.backoff_base = seconds(1);
    options_.backoff_max = seconds(60);
    options_.jitter_seed = 3;
  }
  MirrorSet Make(size_t n) {
    std::vector<std::string> endpoints;
    for (size_t i = 0; i < n; ++i) endpoints.push_back("https://m" + std::to_string(i) + ".test");
    return MirrorSet(endpoints, &clock_, options_);
  }
  std::vector<size_t> Order(MirrorSet& m, RouteKey key = RouteKey()) { return m.Order(key).order; }

  FakeClock clock_;
  MirrorSetOptions options_;
};

const Status kDown = Status::Unavailable("connection refused");

TEST_F(MirrorSetTest, PriorityOrderWhileHealthy) {
  MirrorSet m = Make(3);
  EXPECT_EQ(Order(m), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(m.endpoint(2), "https://m2.test");
}

TEST_F(MirrorSetTest, FailedEndpointGoesLastThenReturnsAfterItsBackoff) {
  MirrorSet m = Make(3);
  m.OnFailure(0, kDown, RequestKind::kApi, std::nullopt);
  EXPECT_EQ(Order(m), (std::vector<size_t>{1, 2, 0}));
  // The first backoff is at most the base (jitter only shortens it).
  clock_.Advance(seconds(1));
  EXPECT_EQ(Order(m), (std::vector<size_t>{0, 1, 2}));
}

TEST_F(MirrorSetTest, BackoffDoublesUpToTheCapAndASuccessResetsIt) {
  MirrorSet m = Make(2);
  for (int k = 0; k < 10; ++k) m.OnFailure(0, kDown, RequestKind::kApi, std::nullopt);
  // Ten failures in a row: 2^9 s capped at 60 s, jittered to [30, 60] s.
  clock_.Advance(seconds(29));
  EXPECT_EQ(Order(m), (std::vector<size_t>{1, 0}));
  EXPECT_EQ(m.Stats()[0].state, "backing-off");
  clock_.Advance(seconds(31));
  EXPECT_EQ(Order(m), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(m.Stats()[0].state, "healthy");
  // It failed again on its first try: a long backoff again, since it has not
  // succeeded yet.
  m.OnFailure(0, kDown, RequestKind::kApi, std::nullopt);
  clock_.Advance(seconds(29));
  EXPECT_EQ(Order(m), (std::vector<size_t>{1, 0}));
  // A success makes it healthy at once, and the next failure starts small.
  m.OnSuccess(0);
  EXPECT_EQ(Order(m), (std::vector<size_t>{0, 1}));
  m.OnFailure(0, kDown, RequestKind::kApi, std::nullopt);
  clock_.Advance(seconds(1));
  EXPECT_EQ(Order(m), (std::vector<size_t>{0, 1}));
}

TEST_F(MirrorSetTest, ServerWaitBlocksOnlyThatKindOfRequest) {
  MirrorSet m = Make(2);
  m.OnFailure(0, Status::Unavailable("429"), RequestKind::kApi, seconds(42));
  RouteKey api;
  RouteKey file;
  file.kind = RequestKind::kFile;
  Route r = m.Order(api);
  EXPECT_EQ(r.order, (std::vector<size_t>{1}));
  ASSERT_EQ(r.blocked.size(), 1u);
  EXPECT_EQ(r.blocked[0].first, 0u);
  EXPECT_EQ(r.blocked[0].second, clock_.Now() + seconds(42));
  EXPECT_EQ(m.Stats()[0].state, "rate-limited");
  // File requests use another bucket: only the health backoff applies.
  EXPECT_EQ(m.Order(file).order, (std::vector<size_t>{1, 0}));
  clock_.Advance(seconds(42));
  EXPECT_EQ(m.Order(api).order, (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(m.Order(api).blocked.empty());
}

TEST_F(MirrorSetTest, MissingCommitIsSkippedForThatCommitOnlyAndForgotten) {
  MirrorSet m = Make(3);
  RouteKey c1, c2;
  c1.commit_key = "c1";
  c2.commit_key = "c2";
  m.OnMissing(1, "c1", Status::NotFound("RevisionNotFound"));
  EXPECT_EQ(Order(m, c1), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(Order(m, c2), (std::vector<size_t>{0, 1, 2}));
  // Not a health failure: it is still first in line for other commits.
  EXPECT_EQ(m.Stats()[1].state, "healthy");
  EXPECT_EQ(m.Stats()[1].failures, 1u);
  clock_.Advance(options_.forget_after);
  EXPECT_EQ(Order(m, c1), (std::vector<size_t>{0, 1, 2}));
}

TEST_F(MirrorSetTest, WhenEveryoneIsSkippedEveryoneIsAskedAgain) {
  MirrorSet m = Make(2);
  RouteKey f;
  f.kind = RequestKind::kFile;
  f.commit_key = "c";
  f.file_key = "c\nweights.bin";
  m.OnMissing(0, f.file_key, Status::NotFound("404"));
  EXPECT_EQ(Order(m, f), (std::vector<size_t>{1}));
  m.OnMissing(1, f.commit_key, Status::NotFound("RevisionNotFound"));
  EXPECT_EQ(Order(m, f), (std::vector<size_t>{0, 1}));
}

TEST_F(MirrorSetTest, CorruptFileDemotesWhoServedItUntilAllDid) {
  MirrorSet m = Make(3);
  RouteKey f;
  f.kind = RequestKind::kFile;
  f.file_key = "file";
  m.OnServed(0, "file", 100);
  m.OnServed(0, "other", 5);
  EXPECT_EQ(m.ReportCorrupt("file", "x"), (std::vector<size_t>{0}));
  EXPECT_EQ(Order(m, f), (std::vector<size_t>{1, 2, 0}));
  RouteKey other = f;
  other.file_key = "other";
  EXPECT_EQ(Order(m, other), (std::vector<size_t>{0, 1, 2}));
  // Demotion outranks health: a healthy demoted endpoint goes after one
  // that is backing off.
  m.OnFailure(1, kDown, RequestKind::kFile, std::nullopt);
  EXPECT_EQ(Order(m, f), (std::vector<size_t>{2, 1, 0}));
  m.OnSuccess(1);
  m.OnServed(1, "file", 10);
  m.OnServed(2, "file", 10);
  EXPECT_EQ(m.ReportCorrupt("file", "x"), (std::vector<size_t>{1, 2}));
  // All three were reported: start over from the primary.
  EXPECT_EQ(Order(m, f), (std::vector<size_t>{0, 1, 2}));
  // Nothing served since: a report demotes nobody.
  EXPECT_TRUE(m.ReportCorrupt("file", "x").empty());
  const auto stats = m.Stats();
  EXPECT_EQ(stats[0].bytes, 105u);
  EXPECT_EQ(stats[0].failures, 1u);
  EXPECT_NE(stats[0].last_error.find("failed verification"), std::string::npos);
}

TEST_F(MirrorSetTest, TallyCountsAttemptsFailuresAndBytes) {
  MirrorSet m = Make(2);
  m.OnAttempt(0);
  m.OnAttempt(0);
  m.OnAttempt(1);
  m.OnFailure(0, Status::Unavailable("HTTP 503 from m0"), RequestKind::kFile, std::nullopt);
  m.OnServed(1, "f", 4096);
  const auto stats = m.Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].endpoint, "https://m0.test");
  EXPECT_EQ(stats[0].requests, 2u);
  EXPECT_EQ(stats[0].failures, 1u);
  EXPECT_EQ(stats[0].last_error, "Unavailable: HTTP 503 from m0");
  EXPECT_EQ(stats[0].state, "backing-off");
  EXPECT_EQ(stats[1].requests, 1u);
  EXPECT_EQ(stats[1].failures, 0u);
  EXPECT_EQ(stats[1].bytes, 4096u);
  EXPECT_EQ(stats[1].last_error, "");
  EXPECT_EQ(stats[1].state, "healthy");
}

}  // namespace
}  // namespace hfm
