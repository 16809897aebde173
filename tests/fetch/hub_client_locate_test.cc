// One /resolve per file, as the real Hub wants it (fetch/PROTOCOL.md): an LFS
// file's location is asked with HEAD and no Range (a location signed for a
// Range may be bound to it), a regular file's resolve-cache location is
// reused, a 429 on resolves holds back only resolves, and a mirror's redirect
// to a Hub that refuses it (no token goes there) is access denied.
#include <gtest/gtest.h>

#include <string>

#include "tests/fetch/hub_test_util.h"
#include "tests/fetch/mirror_test_util.h"

namespace hfm {
namespace {

using std::chrono::seconds;

const std::string kCdnUrl = "https://cdn.test/lfs/blob";

// A Hub whose /resolve signs a location bound to the request's Range when it
// has one (the CDN then refuses any other range), valid for every range when
// it has none.
class LocateTest : public HubClientTest {
 protected:
  LocateTest() : content_(PseudoRandomBytes(4000)) {
    file_.repo = {RepoKind::kModel, "ns/name"};
    file_.commit = kCommit;
    file_.path = "model.safetensors";
    file_.size = content_.size();
    file_.is_lfs = true;
    resolve_url_ = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/model.safetensors";
    transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
      if (r.url == resolve_url_) {
        const auto range = RequestHeader(r, "Range");
        return Reply(302)
            .Header("location", kCdnUrl + "?sig=1" + (range ? "&bound=" + range->substr(6) : ""))
            .Header("x-linked-size", std::to_string(content_.size()));
      }
      if (r.url.rfind(kCdnUrl, 0) != 0) return std::nullopt;
      const auto range = RequestHeader(r, "Range");
      const size_t bound = r.url.find("&bound=");
      if (bound != std::string::npos && (!range || r.url.substr(bound + 7) != range->substr(6))) {
        return Reply(403, "<Error>signature does not match</Error>");
      }
      return ServeContent(content_, r);
    });
  }

  int ResolveCount() const { return transport_.CountContaining("/resolve/"); }

  std::string content_;
  FileLocation file_;
  std::string resolve_url_;
};

TEST_F(LocateTest, AnLfsFileIsResolvedOnceWithHeadAndNoRange) {
  auto client = Client();
  for (uint64_t offset = 0; offset < content_.size(); offset += 1000) {
    StringRangeSink sink;
    Status s = client->FetchRange(file_, offset, 1000, &sink, Deadline());
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(sink.bytes, content_.substr(offset, 1000));
  }
  const auto requests = transport_.requests();
  ASSERT_EQ(ResolveCount(), 1);
  EXPECT_EQ(requests[0].method, "HEAD");
  EXPECT_FALSE(RequestHeader(requests[0], "Range"));
  EXPECT_EQ(transport_.CountForHost("cdn.test"), 4);  // no 403 from the CDN
  ExpectTokenOnlyToHub();
}

TEST_F(LocateTest, ALocationRefusedLaterIsLocatedAgainWithoutRange) {
  auto client = Client();
  StringRangeSink first;
  ASSERT_TRUE(client->FetchRange(file_, 0, 1000, &first, Deadline()).ok());
  // The signature expires: the CDN refuses it once, and the next location is
  // again asked without Range.
  transport_.Then(kCdnUrl + "?sig=1", Reply(403, "<Error>Request has expired</Error>"));
  StringRangeSink second;
  ASSERT_TRUE(client->FetchRange(file_, 2000, 1000, &second, Deadline()).ok());
  EXPECT_EQ(second.bytes, content_.substr(2000, 1000));
  int heads = 0;
  for (const HttpRequest& r : transport_.requests()) {
    if (r.url != resolve_url_) continue;
    EXPECT_EQ(r.method, "HEAD");
    EXPECT_FALSE(RequestHeader(r, "Range"));
    ++heads;
  }
  EXPECT_EQ(heads, 2);
}

TEST_F(LocateTest, A429OnResolvesHoldsBackOnlyFilesNotYetLocated) {
  auto client = Client();
  StringRangeSink located;
  ASSERT_TRUE(client->FetchRange(file_, 0, 1000, &located, Deadline()).ok());
  // Every further /resolve is refused for 120 s, past the read deadline.
  FileLocation other = file_;
  other.path = "other.safetensors";
  const std::string other_resolve = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/other.safetensors";
  transport_.On(other_resolve, Reply(429)
                                   .Header("ratelimit", "\"resolvers\";r=0;t=120")
                                   .Header("ratelimit-policy", "\"fixed window\";\"resolvers\";q=3000;w=300"));
  const TimePoint deadline = clock_.Now() + seconds(30);
  StringRangeSink refused;
  Status s = client->FetchRange(other, 0, 1000, &refused, deadline);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("asked us to wait"), std::string::npos) << s.message();
  // The read waited out its own deadline (in case the wait ended early), not
  // the server's 120 s, and asked /resolve no second time.
  EXPECT_EQ(clock_.Now(), deadline);
  EXPECT_EQ(transport_.CountContaining("other.safetensors"), 1);
  const EndpointStats stats = client->Stats()[0];
  EXPECT_EQ(stats.state, "rate-limited");
  EXPECT_GT(stats.rate_limited_for, seconds(80));
  // The file located before goes on from the CDN while resolves wait.
  StringRangeSink more;
  ASSERT_TRUE(client->FetchRange(file_, 1000, 1000, &more, Deadline()).ok());
  EXPECT_EQ(more.bytes, content_.substr(1000, 1000));
  EXPECT_EQ(transport_.CountContaining("/resolve/"), 2);
}

// An endpoint that answers HEAD with 405 (a bare static mirror) still serves
// the ranges: they go to /resolve itself.
TEST_F(HubClientTest, AnEndpointWithoutHeadServesRangesOnResolve) {
  const std::string content = PseudoRandomBytes(3000);
  FileLocation file{{RepoKind::kModel, "ns/name"}, kCommit, "model.bin", content.size(), true};
  const std::string resolve = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/model.bin";
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url != resolve) return std::nullopt;
    if (r.method == "HEAD") return Reply(405);
    return ServeContent(content, r);
  });
  auto client = Client();
  StringRangeSink sink;
  Status s = client->FetchRange(file, 1000, 1000, &sink, Deadline());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content.substr(1000, 1000));
}

// A regular file comes from the endpoint itself through a relative 307 to its
// resolve-cache, which serves every range: it is reused like a signed URL.
TEST_F(HubClientTest, AResolveCacheLocationIsReusedForEveryRange) {
  const std::string content = PseudoRandomBytes(3000);
  FileLocation file{{RepoKind::kModel, "ns/name"}, kCommit, "tokenizer.json", content.size(), false};
  const std::string resolve = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/tokenizer.json";
  const std::string cache_path = "/api/resolve-cache/models/ns/name/" + kCommit + "/tokenizer.json?etag=%22abc%22";
  transport_.On(resolve, Reply(307).Header("location", cache_path));
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url != std::string(kEndpoint) + cache_path) return std::nullopt;
    return ServeContent(content, r);
  });
  auto client = Client();
  for (uint64_t offset = 0; offset < content.size(); offset += 1000) {
    StringRangeSink sink;
    ASSERT_TRUE(client->FetchRange(file, offset, 1000, &sink, Deadline()).ok());
    EXPECT_EQ(sink.bytes, content.substr(offset, 1000));
  }
  EXPECT_EQ(transport_.CountContaining("/ns/name/resolve/"), 1);
  EXPECT_EQ(transport_.CountContaining("/api/resolve-cache/"), 3);
  ExpectTokenOnlyToHub();  // the resolve-cache is the endpoint's own host
}

// A mirror that has not cached a file sends us to the Hub with a 308; the
// token stays with the mirror, so a gated repo there answers 401 GatedRepo:
// access denied (not a fault to retry), unless another endpoint serves it.
TEST_F(MirrorTest, AMirrorsRedirectToAGatedHubIsAccessDenied) {
  file_.is_lfs = true;
  const std::string upstream = "https://upstream.test/ns/name/resolve/" + kCommit + "/model.bin";
  transport_.On(ResolveUrl(kHubA), Reply(308).Header("location", upstream));
  transport_.On(upstream, Reply(401)
                              .Header("x-error-code", "GatedRepo")
                              .Header("x-error-message", "Access to model ns/name is restricted."));
  auto lone = Client({kHubA});
  StringRangeSink sink;
  Status s = lone->FetchRange(file_, 0, 100, &sink, Deadline());
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("never sent to another host"), std::string::npos) << s.message();
  EXPECT_TRUE(transport_.waits().empty());  // not retried as a transient fault
  for (const HttpRequest& r : transport_.requests()) {
    if (r.url == upstream) {
      EXPECT_FALSE(RequestHeader(r, "Authorization"));
    }
  }
  // With an endpoint that serves the file itself, that one does.
  ServeFile(kHubB);
  auto both = Client({kHubA, kHubB});
  StringRangeSink served;
  ASSERT_TRUE(both->FetchRange(file_, 0, 100, &served, Deadline()).ok());
  EXPECT_EQ(served.bytes, content_.substr(0, 100));
}

// Xet-backed files: /resolve sends us to the bridge with Xet headers; its
// signed URL serves ranges like any CDN's.
TEST_F(LocateTest, AXetBridgeLocationServesRanges) {
  const std::string bridge = "https://cas-bridge.test/xet-bridge-us/abc/def";
  transport_.On(resolve_url_, Reply(302)
                                  .Header("location", bridge + "?X-Xet-Signed-Range=all&sig=2")
                                  .Header("x-xet-hash", "def")
                                  .Header("link", "<https://hub.test/api/xet-read-token>; rel=\"xet-auth\", "
                                                  "<https://cas.test/reconstructions/def>; "
                                                  "rel=\"xet-reconstruction-info\""));
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.rfind(bridge, 0) != 0) return std::nullopt;
    if (!RequestHeader(r, "Range")) return Reply(400, "unranged GET of a large file");
    return ServeContent(content_, r);
  });
  auto client = Client();
  StringRangeSink sink;
  ASSERT_TRUE(client->FetchRange(file_, 100, 2000, &sink, Deadline()).ok());
  EXPECT_EQ(sink.bytes, content_.substr(100, 2000));
  ExpectTokenOnlyToHub();
}

}  // namespace
}  // namespace hfm
