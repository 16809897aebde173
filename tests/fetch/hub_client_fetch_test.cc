// HubClient::FetchRange: ranges, redirects and the token, signed URL reuse,
// resumption and error mapping.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/fetch/hub_test_util.h"

namespace hfm {
namespace {

const std::string kCdnPrefix = "https://cdn.test/xet/blob";

class FetchRangeTest : public HubClientTest {
 protected:
  FetchRangeTest() : content_(PseudoRandomBytes(1000)) {
    file_.repo = {RepoKind::kModel, "ns/name"};
    file_.commit = kCommit;
    file_.path = "dir one/model#1.bin";
    file_.size = content_.size();
    resolve_url_ = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/dir%20one/model%231.bin";
  }

  // /resolve redirects to the CDN with signature `sig`; the CDN serves the
  // content for any signature not expired.
  void ServeViaCdn(const std::string& sig) {
    transport_.On(resolve_url_, Reply(302)
                                    .Header("location", kCdnPrefix + "?X-Amz-Signature=" + sig)
                                    .Header("x-linked-size", std::to_string(content_.size())));
    transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
      if (r.url.rfind(kCdnPrefix, 0) != 0) return std::nullopt;
      if (!expired_sig_.empty() && r.url.find("=" + expired_sig_) != std::string::npos) {
        return Reply(403, "<Error>Request has expired</Error>");
      }
      return ServeContent(content_, r);
    });
  }

  Status Fetch(uint64_t offset, uint64_t length, StringRangeSink* sink) {
    return Client()->FetchRange(file_, offset, length, sink, Deadline());
  }

  std::string content_;
  FileLocation file_;
  std::string resolve_url_;
  std::string expired_sig_;
};

TEST_F(FetchRangeTest, PartialContentFromTheHub) {
  transport_.OnAny([this](const HttpRequest& r) { return std::optional(ServeContent(content_, r)); });
  StringRangeSink sink;
  ASSERT_TRUE(Fetch(100, 50, &sink).ok());
  EXPECT_EQ(sink.bytes, content_.substr(100, 50));
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].url, resolve_url_);
  EXPECT_EQ(RequestHeader(requests[0], "Range"), "bytes=100-149");
  EXPECT_EQ(RequestHeader(requests[0], "Accept-Encoding"), "identity");
  ExpectTokenOnlyToHub();
}

TEST_F(FetchRangeTest, WholeBodyAnswerDeliversOnlyTheRange) {
  for (size_t chunk : {1, 7, 64, 4096}) {
    transport_.set_chunk_size(chunk);
    transport_.On(resolve_url_, Reply(200, content_).Header("content-length", "1000"));
    StringRangeSink sink;
    ASSERT_TRUE(Fetch(333, 222, &sink).ok());
    EXPECT_EQ(sink.bytes, content_.substr(333, 222)) << chunk;
  }
}

TEST_F(FetchRangeTest, WrongContentRangeIsDataLoss) {
  transport_.On(resolve_url_, Reply(206, content_.substr(0, 50)).Header("content-range", "bytes 0-49/1000"));
  StringRangeSink sink;
  Status s = Fetch(100, 50, &sink);
  EXPECT_TRUE(s.IsDataLoss()) << s.ToString();
  EXPECT_NE(s.message().find("expected 100"), std::string::npos) << s.message();
  EXPECT_TRUE(sink.bytes.empty());

  transport_.On(resolve_url_, Reply(206, content_.substr(100, 50)).Header("content-range", "bytes 100-149/1001"));
  s = Fetch(100, 50, &sink);
  EXPECT_TRUE(s.IsDataLoss()) << s.ToString();
  EXPECT_NE(s.message().find("1001"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ns/name"), std::string::npos);
  EXPECT_NE(s.message().find(kCommit), std::string::npos);
  EXPECT_NE(s.message().find("dir one/model#1.bin"), std::string::npos);
  EXPECT_NE(s.message().find(kEndpoint), std::string::npos);
}

TEST_F(FetchRangeTest, RedirectToCdnKeepsTheTokenHome) {
  ServeViaCdn("sig1");
  StringRangeSink sink;
  ASSERT_TRUE(Fetch(0, 100, &sink).ok());
  EXPECT_EQ(sink.bytes, content_.substr(0, 100));
  EXPECT_EQ(transport_.CountForHost("hub.test"), 1);
  EXPECT_EQ(transport_.CountForHost("cdn.test"), 1);
  ExpectTokenOnlyToHub();
  for (const HttpRequest& r : transport_.requests()) {
    EXPECT_EQ(RequestHeader(r, "Range"), "bytes=0-99") << r.url;
  }
}

TEST_F(FetchRangeTest, SignedUrlIsReusedForLaterRanges) {
  ServeViaCdn("sig1");
  auto client = Client();
  StringRangeSink first, second;
  ASSERT_TRUE(client->FetchRange(file_, 0, 100, &first, Deadline()).ok());
  ASSERT_TRUE(client->FetchRange(file_, 500, 100, &second, Deadline()).ok());
  EXPECT_EQ(second.bytes, content_.substr(500, 100));
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 1);
  EXPECT_EQ(transport_.CountForHost("cdn.test"), 2);
  ExpectTokenOnlyToHub();
}

// A sink that, on its first bytes, says so and then waits to be let go.
class PausingSink : public RangeSink {
 public:
  bool OnBytes(const char* data, size_t len) override {
    std::unique_lock<std::mutex> lock(mu);
    if (!started) {
      started = true;
      cv.notify_all();
      cv.wait(lock, [this] { return released; });
    }
    bytes.append(data, len);
    return true;
  }
  void WaitStarted() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return started; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, released = false;
  std::string bytes;
};

TEST_F(FetchRangeTest, SignedUrlIsSharedAsSoonAsTheCdnAcceptsIt) {
  ServeViaCdn("sig1");
  auto client = Client();
  PausingSink first;
  std::thread slow([&] { EXPECT_TRUE(client->FetchRange(file_, 0, 400, &first, Deadline()).ok()); });
  first.WaitStarted();  // its body is streaming: the head was accepted
  StringRangeSink second;
  ASSERT_TRUE(client->FetchRange(file_, 500, 100, &second, Deadline()).ok());
  EXPECT_EQ(second.bytes, content_.substr(500, 100));
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 1) << "the second range used the first one's URL";
  first.Release();
  slow.join();
  EXPECT_EQ(first.bytes, content_.substr(0, 400));
}

// The first GET to the CDN has not even been answered: the second range uses
// the location /resolve signed, so it does not wait behind the first GET.
TEST_F(FetchRangeTest, SignedUrlIsSharedAsSoonAsTheHubRedirects) {
  transport_.On(resolve_url_, Reply(302).Header("location", kCdnPrefix + "?X-Amz-Signature=sig1"));
  std::mutex mu;
  std::condition_variable cv;
  bool first_arrived = false, release = false;
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.rfind(kCdnPrefix, 0) != 0) return std::nullopt;
    if (RequestHeader(r, "Range") == "bytes=0-399") {
      std::unique_lock<std::mutex> lock(mu);
      first_arrived = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });  // the CDN has not answered yet
    }
    return ServeContent(content_, r);
  });
  auto client = Client();
  StringRangeSink first;
  std::thread slow([&] { EXPECT_TRUE(client->FetchRange(file_, 0, 400, &first, Deadline()).ok()); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return first_arrived; });
  }
  StringRangeSink second;
  const Status st = client->FetchRange(file_, 500, 100, &second, Deadline());
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  }
  slow.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(second.bytes, content_.substr(500, 100));
  EXPECT_EQ(first.bytes, content_.substr(0, 400));
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 1) << "the second range used the signed location";
  ExpectTokenOnlyToHub();
}

// A location the CDN then refuses was shared too early: whoever took it
// resolves again and gets its bytes.
TEST_F(FetchRangeTest, SharedLocationTheCdnRefusesIsResolvedAgain) {
  ServeViaCdn("sig1");
  expired_sig_ = "sig1";  // signed, and already refused by the CDN
  auto client = Client();
  StringRangeSink first;
  const Status st = client->FetchRange(file_, 0, 100, &first, Deadline());
  EXPECT_FALSE(st.ok()) << "a freshly signed URL the CDN refuses fails the attempt";
  // Each retry asked /resolve again rather than reuse the refused location.
  EXPECT_EQ(transport_.CountContaining("/resolve/"), transport_.CountContaining("sig1"));
  transport_.On(resolve_url_, Reply(302).Header("location", kCdnPrefix + "?X-Amz-Signature=sig2"));
  const int refused = transport_.CountContaining("sig1");
  StringRangeSink second;
  ASSERT_TRUE(client->FetchRange(file_, 200, 100, &second, Deadline()).ok());
  EXPECT_EQ(second.bytes, content_.substr(200, 100));
  EXPECT_EQ(transport_.CountContaining("sig1"), refused) << "the refused location is not in the cache";
  EXPECT_EQ(transport_.CountContaining("sig2"), 1);
}

TEST_F(FetchRangeTest, ExpiredSignedUrlIsResolvedAgain) {
  ServeViaCdn("sig1");
  auto client = Client();
  StringRangeSink first, second;
  ASSERT_TRUE(client->FetchRange(file_, 0, 100, &first, Deadline()).ok());
  expired_sig_ = "sig1";
  transport_.On(resolve_url_, Reply(302).Header("location", kCdnPrefix + "?X-Amz-Signature=sig2"));
  ASSERT_TRUE(client->FetchRange(file_, 200, 100, &second, Deadline()).ok());
  EXPECT_EQ(second.bytes, content_.substr(200, 100));
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 2);
  EXPECT_EQ(transport_.CountContaining("sig1"), 2);
  EXPECT_EQ(transport_.CountContaining("sig2"), 1);
  // The fresh URL is the one reused now.
  StringRangeSink third;
  ASSERT_TRUE(client->FetchRange(file_, 300, 10, &third, Deadline()).ok());
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 2);
  ExpectTokenOnlyToHub();
}

TEST_F(FetchRangeTest, BrokenSignedUrlConnectionIsResolvedAgain) {
  ServeViaCdn("sig1");
  auto client = Client();
  StringRangeSink first, second;
  ASSERT_TRUE(client->FetchRange(file_, 0, 10, &first, Deadline()).ok());
  transport_.Then(kCdnPrefix + "?X-Amz-Signature=sig1", Fail(Status::Unavailable("connection refused")));
  ASSERT_TRUE(client->FetchRange(file_, 10, 10, &second, Deadline()).ok());
  EXPECT_EQ(second.bytes, content_.substr(10, 10));
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 2);
}

TEST_F(FetchRangeTest, SameHostRelativeRedirectKeepsTheToken) {
  const std::string moved = std::string(kEndpoint) + "/ns/renamed/resolve/" + kCommit + "/dir%20one/model%231.bin";
  transport_.On(resolve_url_, Reply(301).Header("location", "/ns/renamed/resolve/" + kCommit +
                                                               "/dir%20one/model%231.bin"));
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url == moved) return ServeContent(content_, r);
    return std::nullopt;
  });
  StringRangeSink sink;
  ASSERT_TRUE(Fetch(5, 5, &sink).ok());
  EXPECT_EQ(sink.bytes, content_.substr(5, 5));
  ExpectTokenOnlyToHub();
}

TEST_F(FetchRangeTest, RedirectLoopAndTooManyRedirectsAreUnavailable) {
  transport_.On(resolve_url_, Reply(302).Header("location", "https://cdn.test/a"));
  transport_.On("https://cdn.test/a", Reply(302).Header("location", resolve_url_));
  StringRangeSink sink;
  Status s = Fetch(0, 10, &sink);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("loop"), std::string::npos);

  for (int i = 0; i < 10; ++i) {
    transport_.On("https://cdn.test/hop" + std::to_string(i),
                  Reply(302).Header("location", "https://cdn.test/hop" + std::to_string(i + 1)));
  }
  transport_.On(resolve_url_, Reply(302).Header("location", "https://cdn.test/hop0"));
  s = Fetch(0, 10, &sink);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(transport_.CountContaining("hop6"), 0);
}

TEST_F(FetchRangeTest, ShortBodyIsResumedFromTheByteReached) {
  // The first answer promises bytes 100-399 but the connection dies after 50.
  FakeResponse cut = Fail(Status::Unavailable("connection reset"), content_.substr(100, 50));
  cut.status = 206;
  cut.Header("content-range", "bytes 100-399/1000");
  transport_.Then(resolve_url_, cut);
  // The second ends early without an error.
  transport_.Then(resolve_url_, Reply(206, content_.substr(150, 20)).Header("content-range", "bytes 150-399/1000"));
  transport_.OnAny([this](const HttpRequest& r) { return std::optional(ServeContent(content_, r)); });
  StringRangeSink sink;
  Status s = Fetch(100, 300, &sink);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content_.substr(100, 300));
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(RequestHeader(requests[1], "Range"), "bytes=150-399");
  EXPECT_EQ(RequestHeader(requests[2], "Range"), "bytes=170-399");
}

TEST_F(FetchRangeTest, EndlesslyShortBodyIsUnavailable) {
  transport_.OnAny([this](const HttpRequest& r) {
    FakeResponse full = ServeContent(content_, r);
    full.body.resize(full.body.size() / 2);
    return std::optional(full);
  });
  StringRangeSink sink;
  Status s = Fetch(0, 800, &sink);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(sink.bytes, content_.substr(0, sink.bytes.size()));
  // Two resumes right away, then the attempt and three retries of the
  // retry policy (each still making progress): bounded.
  EXPECT_EQ(transport_.requests().size(), 6u);
}

TEST_F(FetchRangeTest, RangePastTheServersEndIsOutOfRange) {
  transport_.On(resolve_url_, Reply(416).Header("content-range", "bytes */500"));
  StringRangeSink sink;
  EXPECT_EQ(Fetch(600, 10, &sink).code(), Status::Code::kOutOfRange);
}

TEST_F(FetchRangeTest, LengthIsClippedAndEmptyRangesSendNothing) {
  transport_.OnAny([this](const HttpRequest& r) { return std::optional(ServeContent(content_, r)); });
  StringRangeSink sink;
  ASSERT_TRUE(Fetch(900, 500, &sink).ok());
  EXPECT_EQ(sink.bytes, content_.substr(900));
  EXPECT_EQ(RequestHeader(transport_.requests()[0], "Range"), "bytes=900-999");

  EXPECT_TRUE(Fetch(0, 0, &sink).ok());
  EXPECT_TRUE(Fetch(1000, 10, &sink).ok());
  EXPECT_EQ(transport_.requests().size(), 1u);
  EXPECT_EQ(Fetch(1001, 10, &sink).code(), Status::Code::kOutOfRange);
}

TEST_F(FetchRangeTest, SinkMayStopEarly) {
  transport_.OnAny([this](const HttpRequest& r) { return std::optional(ServeContent(content_, r)); });
  StringRangeSink sink(20);
  ASSERT_TRUE(Fetch(0, 500, &sink).ok());
  EXPECT_LT(sink.bytes.size(), 500u);
  EXPECT_EQ(sink.bytes, content_.substr(0, sink.bytes.size()));
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(FetchRangeTest, ErrorsAreMappedAndRetried) {
  transport_.On(resolve_url_, Reply(404).Header("x-error-code", "EntryNotFound"));
  StringRangeSink sink;
  EXPECT_TRUE(Fetch(0, 10, &sink).IsNotFound());

  transport_.On(resolve_url_, Reply(403).Header("x-error-code", "GatedRepo"));
  EXPECT_TRUE(Fetch(0, 10, &sink).IsPermissionDenied());

  transport_.Then(resolve_url_, Reply(503));
  transport_.Then(resolve_url_, Fail(Status::Unavailable("reset")));
  transport_.OnAny([this](const HttpRequest& r) { return std::optional(ServeContent(content_, r)); });
  transport_.On(resolve_url_, Reply(206, content_.substr(0, 10)).Header("content-range", "bytes 0-9/1000"));
  ASSERT_TRUE(Fetch(0, 10, &sink).ok());
  EXPECT_EQ(sink.bytes, content_.substr(0, 10));
}

TEST_F(FetchRangeTest, MessagesNeverCarryTheTokenOrTheSignature) {
  transport_.On(resolve_url_, Reply(302).Header("location", kCdnPrefix + "?X-Amz-Signature=TOPSECRET"));
  transport_.OnAny([](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.rfind(kCdnPrefix, 0) == 0) return Reply(500);
    return std::nullopt;
  });
  StringRangeSink sink;
  Status s = Fetch(0, 10, &sink);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(s.message().find("TOPSECRET"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(kToken), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("cdn.test"), std::string::npos) << s.message();
}

TEST_F(FetchRangeTest, RefusesUnsafeLocations) {
  StringRangeSink sink;
  file_.path = "../escape";
  EXPECT_EQ(Fetch(0, 10, &sink).code(), Status::Code::kInvalidArgument);
  file_.path = "ok";
  file_.commit = "main";
  EXPECT_EQ(Fetch(0, 10, &sink).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(FetchRangeTest, DatasetFilesUseThePrefix) {
  file_.repo = {RepoKind::kDataset, "ns/data"};
  file_.path = "train.parquet";
  const std::string url = std::string(kEndpoint) + "/datasets/ns/data/resolve/" + kCommit + "/train.parquet";
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url == url) return ServeContent(content_, r);
    return std::nullopt;
  });
  StringRangeSink sink;
  ASSERT_TRUE(Fetch(0, 10, &sink).ok());
}

}  // namespace
}  // namespace hfm
