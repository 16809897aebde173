// HubClient over several endpoints: what it remembers per commit and per
// file (lagging mirrors, files a mirror lacks, corrupt bytes), where the
// token goes, and the per-endpoint tally.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/fetch/mirror_test_util.h"

namespace hfm {
namespace {

using std::chrono::seconds;

TEST_F(MirrorTest, LaggingMirrorIsSkippedForThatCommit) {
  transport_.On(TreeUrl(kHubA), Fail(Status::Unavailable("connection refused")));
  transport_.On(TreeUrl(kHubB), NotFoundReply("RevisionNotFound"));
  transport_.On(TreeUrl(kHubC), TreeReply());
  auto client = Client({kHubA, kHubB, kHubC});
  auto entries = client->ListTree(kMirrorRepo, kCommit, Deadline());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(CountTo(kHubB), 1);
  // While hub-a backs off, hub-b would be next: it lags, so hub-c is asked.
  ASSERT_TRUE(client->ListTree(kMirrorRepo, kCommit, Deadline()).ok());
  EXPECT_EQ(CountTo(kHubB), 1);
  EXPECT_EQ(CountTo(kHubC), 2);
  // Lagging is not ill health: hub-b is still healthy for everything else.
  EXPECT_EQ(StatsOf(*client, kHubB).state, "healthy");

  // File bytes of that commit skip it too.
  ServeFile(kHubB);
  ServeFile(kHubC);
  StringRangeSink sink;
  ASSERT_TRUE(client->FetchRange(file_, 0, 10, &sink, Deadline()).ok());
  EXPECT_EQ(CountTo(kHubB), 1);
}

TEST_F(MirrorTest, FileRequestRevisionNotFoundMarksTheCommit) {
  transport_.On(ResolveUrl(kHubA), NotFoundReply("RevisionNotFound"));
  ServeFile(kHubB);
  auto client = Client({kHubA, kHubB});
  StringRangeSink sink;
  ASSERT_TRUE(client->FetchRange(file_, 0, 10, &sink, Deadline()).ok());
  // Another request at that commit (here a listing) skips hub-a.
  transport_.On(TreeUrl(kHubB), TreeReply());
  ASSERT_TRUE(client->ListTree(kMirrorRepo, kCommit, Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 1);
}

TEST_F(MirrorTest, ResolvingACommitIdSkipsAMirrorThatLacksIt) {
  transport_.On(RevisionUrl(kHubA, kCommit), NotFoundReply("RevisionNotFound"));
  transport_.On(RevisionUrl(kHubB, kCommit), ShaReply());
  auto commit = Client({kHubA, kHubB})->ResolveRevision(kMirrorRepo, kCommit, Deadline());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(*commit, kCommit);
}

TEST_F(MirrorTest, BranchNotFoundFromTheMirrorInChargeIsFinal) {
  transport_.On(RevisionUrl(kHubA, "main"), Fail(Status::Unavailable("connection refused")));
  transport_.On(RevisionUrl(kHubB, "main"), NotFoundReply("RevisionNotFound"));
  transport_.On(RevisionUrl(kHubC, "main"), ShaReply());
  auto r = Client({kHubA, kHubB, kHubC})->ResolveRevision(kMirrorRepo, "main", Deadline());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_EQ(CountTo(kHubC), 0);
}

TEST_F(MirrorTest, NotFoundForAListedFileIsAMirrorFailure) {
  transport_.On(ResolveUrl(kHubA), NotFoundReply("EntryNotFound"));
  ServeFile(kHubB);
  auto client = Client({kHubA, kHubB});
  StringRangeSink sink;
  Status s = client->FetchRange(file_, 0, 100, &sink, Deadline());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content_.substr(0, 100));
  // The next range of that file skips hub-a; hub-a is still first for others.
  StringRangeSink more;
  ASSERT_TRUE(client->FetchRange(file_, 100, 100, &more, Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 1);
  FileLocation other = file_;
  other.path = "other.bin";
  transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url != kHubA + "/ns/name/resolve/" + kCommit + "/other.bin") return std::nullopt;
    return ServeContent(content_, r);
  });
  StringRangeSink third;
  ASSERT_TRUE(client->FetchRange(other, 0, 10, &third, Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA), 2);
}

TEST_F(MirrorTest, NotFoundEverywhereIsNotFoundButMixedWithOutagesIsUnavailable) {
  transport_.On(ResolveUrl(kHubA), NotFoundReply("EntryNotFound"));
  transport_.On(ResolveUrl(kHubB), NotFoundReply("EntryNotFound"));
  StringRangeSink sink;
  Status s = Client({kHubA, kHubB})->FetchRange(file_, 0, 10, &sink, Deadline());
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(transport_.requests().size(), 2u);

  transport_.On(ResolveUrl(kHubB), Reply(503));
  s = Client({kHubA, kHubB})->FetchRange(file_, 0, 10, &sink, Deadline());
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("hub-a.test"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hub-b.test"), std::string::npos) << s.message();
}

TEST_F(MirrorTest, CorruptBytesSendTheNextFetchElsewhereUntilEveryoneWasReported) {
  // Both serve through the CDN, each with its own signed URL.
  for (const std::string& hub : {kHubA, kHubB}) {
    const std::string host = hub.substr(8, 5);
    transport_.On(ResolveUrl(hub), Reply(302).Header("location", kCdn + "/" + host + "?X-Amz-Signature=s"));
  }
  transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.rfind(kCdn, 0) != 0) return std::nullopt;
    return ServeContent(content_, r);
  });
  auto client = Client({kHubA, kHubB});
  StringRangeSink s1, s2, s3, s4;
  ASSERT_TRUE(client->FetchRange(file_, 0, 500, &s1, Deadline()).ok());
  ASSERT_TRUE(client->FetchRange(file_, 500, 500, &s2, Deadline()).ok());
  EXPECT_EQ(CountTo(kCdn + "/hub-a"), 2);
  EXPECT_EQ(CountTo(ResolveUrl(kHubA)), 1);

  client->ReportCorrupt(file_);
  ASSERT_TRUE(client->FetchRange(file_, 0, 500, &s3, Deadline()).ok());
  EXPECT_EQ(CountTo(kCdn + "/hub-b"), 1);
  EXPECT_EQ(CountTo(kCdn + "/hub-a"), 2);
  EXPECT_EQ(StatsOf(*client, kHubA).failures, 1u);
  EXPECT_NE(StatsOf(*client, kHubA).last_error.find("failed verification"), std::string::npos);

  // hub-b's bytes failed too: everyone was reported, so the primary again,
  // through a fresh /resolve (the old signed URL may point at a bad copy).
  client->ReportCorrupt(file_);
  ASSERT_TRUE(client->FetchRange(file_, 0, 500, &s4, Deadline()).ok());
  EXPECT_EQ(CountTo(kCdn + "/hub-a"), 3);
  EXPECT_EQ(CountTo(ResolveUrl(kHubA)), 2);
  EXPECT_EQ(s4.bytes, content_.substr(0, 500));
}

TEST_F(MirrorTest, AMirrorWhoseResolveNamesOtherContentIsNotAskedForTheBytes) {
  // The listing (the trusted endpoint's word) gives the file's sha256.
  const std::string listed = std::string(64, 'a');
  file_.expected_hash = ContentHash::FromHex(ContentHash::Kind::kSha256, listed);
  // hub-a's answer names other content, hub-b's another commit; hub-c agrees.
  transport_.On(ResolveUrl(kHubA), Reply(302)
                                       .Header("location", kCdn + "/hub-a?X-Amz-Signature=s")
                                       .Header("x-linked-etag", "\"" + std::string(64, 'b') + "\""));
  transport_.On(ResolveUrl(kHubB), Reply(302)
                                       .Header("location", kCdn + "/hub-b?X-Amz-Signature=s")
                                       .Header("x-linked-etag", "\"" + listed + "\"")
                                       .Header("x-repo-commit", std::string(40, 'f')));
  transport_.On(ResolveUrl(kHubC), Reply(302)
                                       .Header("location", kCdn + "/hub-c?X-Amz-Signature=s")
                                       .Header("x-linked-etag", "W/\"" + listed + "\"")
                                       .Header("etag", "\"not-a-hash-of-this-kind\"")
                                       .Header("x-repo-commit", kCommit));
  transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.rfind(kCdn, 0) != 0) return std::nullopt;
    return ServeContent(content_, r);
  });
  auto client = Client({kHubA, kHubB, kHubC});
  StringRangeSink sink;
  ASSERT_TRUE(client->FetchRange(file_, 0, 1000, &sink, Deadline()).ok());
  EXPECT_EQ(sink.bytes, content_);
  EXPECT_EQ(CountTo(kCdn + "/hub-a"), 0) << "no byte is asked of a mirror that names other content";
  EXPECT_EQ(CountTo(kCdn + "/hub-b"), 0) << "nor of one that answers for another commit";
  EXPECT_EQ(CountTo(kCdn + "/hub-c"), 1);
  EXPECT_NE(StatsOf(*client, kHubA).last_error.find("disagrees with the listing"), std::string::npos);
  EXPECT_NE(StatsOf(*client, kHubB).last_error.find("answers for commit"), std::string::npos);
}

TEST_F(MirrorTest, TokenGoesToEachEndpointsOwnHostOnly) {
  // hub-a is down for API calls, so hub-b resolves; hub-a redirects its
  // listing to a path on hub-b's host; both redirect files to the CDN.
  transport_.On(RevisionUrl(kHubA, "main"), Reply(503));
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  const std::string borrowed = kHubB + "/mirror-of-a/tree";
  transport_.On(TreeUrl(kHubA), Reply(302).Header("location", borrowed));
  transport_.On(borrowed, TreeReply());
  for (const std::string& hub : {kHubA, kHubB}) {
    transport_.On(ResolveUrl(hub), Reply(302).Header("location", kCdn + "/blob?X-Amz-Signature=" + hub.substr(8, 5)));
  }
  transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.rfind(kCdn, 0) != 0) return std::nullopt;
    return ServeContent(content_, r);
  });
  auto client = Client({kHubA, kHubB});
  ASSERT_TRUE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(client->ListTree(kMirrorRepo, kCommit, Deadline()).ok());
  StringRangeSink s1, s2;
  ASSERT_TRUE(client->FetchRange(file_, 0, 10, &s1, Deadline()).ok());
  client->ReportCorrupt(file_);
  ASSERT_TRUE(client->FetchRange(file_, 0, 10, &s2, Deadline()).ok());

  int with_token[2] = {0, 0};
  for (const HttpRequest& r : transport_.requests()) {
    const auto auth = RequestHeader(r, "Authorization");
    if (r.url.rfind(kCdn, 0) == 0 || r.url == borrowed) {
      EXPECT_FALSE(auth) << "token sent to " << r.url;
      continue;
    }
    ASSERT_TRUE(auth) << r.url;
    EXPECT_EQ(*auth, std::string("Bearer ") + kToken);
    ++with_token[r.url.rfind(kHubA, 0) == 0 ? 0 : 1];
  }
  EXPECT_EQ(with_token[0], 3);  // revision, tree, resolve on hub-a
  EXPECT_EQ(with_token[1], 2);  // revision, resolve on hub-b
  EXPECT_EQ(CountTo(kCdn), 2);
  EXPECT_EQ(CountTo(borrowed), 1);
}

TEST_F(MirrorTest, TallyPerEndpoint) {
  transport_.Then(ResolveUrl(kHubA), Reply(500).Header("x-error-message", "upstream timeout"));
  ServeFile(kHubA);
  ServeFile(kHubB);
  auto client = Client({kHubA, kHubB});
  StringRangeSink s1, s2;
  ASSERT_TRUE(client->FetchRange(file_, 0, 100, &s1, Deadline()).ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(client->FetchRange(file_, 100, 50, &s2, Deadline()).ok());
  const auto stats = client->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].endpoint, kHubA);
  EXPECT_EQ(stats[0].requests, 2u);
  EXPECT_EQ(stats[0].failures, 1u);
  EXPECT_EQ(stats[0].bytes, 50u);
  EXPECT_NE(stats[0].last_error.find("HTTP 500"), std::string::npos) << stats[0].last_error;
  EXPECT_NE(stats[0].last_error.find("hub-a.test"), std::string::npos) << stats[0].last_error;
  EXPECT_EQ(stats[0].state, "healthy");
  EXPECT_EQ(stats[1].endpoint, kHubB);
  EXPECT_EQ(stats[1].requests, 1u);
  EXPECT_EQ(stats[1].failures, 0u);
  EXPECT_EQ(stats[1].bytes, 100u);
  EXPECT_EQ(stats[1].state, "healthy");
}

TEST_F(MirrorTest, ConcurrentFetchesThroughFlakyMirrorsGetExactBytes) {
  // hub-a cuts transfers starting at a multiple of 3 after a third of the
  // body; hub-b refuses those starting at a multiple of 5. Which endpoint a
  // reader meets first depends on the others, so the order varies; the
  // bytes must not.
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url != ResolveUrl(kHubA) && r.url != ResolveUrl(kHubB)) return std::nullopt;
    FakeResponse full = ServeContent(content_, r);
    const uint64_t first = std::stoull(RequestHeader(r, "Range").value_or("bytes=0-").substr(6));
    if (r.url == ResolveUrl(kHubA) && first % 3 == 0) {
      FakeResponse cut = Fail(Status::Unavailable("reset"), full.body.substr(0, full.body.size() / 3));
      cut.status = full.status;
      cut.headers = full.headers;
      return cut;
    }
    if (r.url == ResolveUrl(kHubB) && first % 5 == 0) return Fail(Status::Unavailable("refused"));
    return full;
  });
  auto client = Client({kHubA, kHubB});
  std::atomic<int> good{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      for (int k = 0; k < 25; ++k) {
        const uint64_t offset = static_cast<uint64_t>((t * 131 + k * 37) % 900);
        StringRangeSink sink;
        Status st = client->FetchRange(file_, offset, 100, &sink, clock_.Now() + seconds(30));
        if (st.ok() && sink.bytes == content_.substr(offset, 100)) ++good;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(good.load(), 200);
  // Broken transfers were resumed, never sent again from their start.
  uint64_t bytes = 0;
  for (const EndpointStats& e : client->Stats()) bytes += e.bytes;
  EXPECT_EQ(bytes, 200u * 100u);
}

}  // namespace
}  // namespace hfm
