// The real CurlTransport against TestHttpServer on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "fetch/http_transport.h"
#include "fetch/hub_client.h"
#include "tests/fetch/test_http_server.h"

namespace hfm {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Records the order of sink calls.
class RecordingSink : public BodySink {
 public:
  explicit RecordingSink(size_t stop_after = SIZE_MAX) : stop_after_(stop_after) {}
  bool OnHead(const HttpResponseHead& head) override {
    ++heads;
    head_status = head.status;
    data_before_head = data_before_head || !body.empty();
    return true;
  }
  bool OnData(const char* data, size_t len) override {
    if (heads == 0) data_before_head = true;
    body.append(data, len);
    return body.size() < stop_after_;
  }
  int heads = 0;
  int head_status = 0;
  bool data_before_head = false;
  std::string body;

 private:
  size_t stop_after_;
};

HttpRequest Get(const std::string& url, milliseconds timeout = milliseconds(20000)) {
  HttpRequest r;
  r.url = url;
  r.deadline = steady_clock::now() + timeout;
  return r;
}

std::unique_ptr<HttpTransport> Transport() { return NewCurlTransport(CurlTransportOptions()); }

TEST(CurlTransportTest, StatusHeadersAndBodyFlow) {
  TestHttpServer server([](const std::string&) {
    return TestHttpServer::Response(200, "X-Test:   Value with spaces  \r\nETag: \"abc\"\r\nX-Multi: 1\r\nX-Multi: 2\r\n",
                                    "hello world");
  });
  auto transport = Transport();
  HttpRequest request = Get(server.Url("/path/a%20b?q=1"));
  request.headers = {{"Authorization", "Bearer t0k"}, {"Range", "bytes=0-10"}};
  RecordingSink sink;
  auto head = transport->Perform(request, &sink);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("x-test"), "Value with spaces");
  EXPECT_EQ(head->Header("etag"), "\"abc\"");
  EXPECT_EQ(head->Header("x-multi"), "1");
  EXPECT_TRUE(head->HasHeader("content-length"));
  EXPECT_EQ(sink.body, "hello world");
  EXPECT_EQ(sink.heads, 1);
  EXPECT_EQ(sink.head_status, 200);
  EXPECT_FALSE(sink.data_before_head);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].rfind("GET /path/a%20b?q=1 HTTP/1.1\r\n", 0), 0u) << requests[0];
  EXPECT_NE(requests[0].find("\r\nAuthorization: Bearer t0k\r\n"), std::string::npos);
  EXPECT_NE(requests[0].find("\r\nRange: bytes=0-10\r\n"), std::string::npos);
  // No automatic compression: the caller decides Accept-Encoding.
  EXPECT_EQ(requests[0].find("Accept-Encoding"), std::string::npos);
}

TEST(CurlTransportTest, RedirectIsNotFollowed) {
  TestHttpServer server([](const std::string&) {
    return TestHttpServer::Response(302, "Location: /other?sig=1\r\n", "moved");
  });
  auto transport = Transport();
  RecordingSink sink;
  auto head = transport->Perform(Get(server.Url("/start")), &sink);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 302);
  EXPECT_EQ(head->Header("location"), "/other?sig=1");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlTransportTest, DeadlineIsHonoured) {
  TestHttpServer server([](const std::string&) { return std::nullopt; });  // never answers
  auto transport = Transport();
  RecordingSink sink;
  const auto start = steady_clock::now();
  auto head = transport->Perform(Get(server.Url("/stall"), milliseconds(500)), &sink);
  const auto elapsed = steady_clock::now() - start;
  ASSERT_FALSE(head.ok());
  EXPECT_TRUE(head.status().IsDeadlineExceeded()) << head.status().ToString();
  EXPECT_GE(elapsed, milliseconds(400));
  EXPECT_LT(elapsed, seconds(10));  // generous for a loaded 2-core machine
  EXPECT_EQ(sink.heads, 0);
}

TEST(CurlTransportTest, PassedDeadlineSendsNothing) {
  TestHttpServer server([](const std::string&) { return TestHttpServer::Response(200, "", "x"); });
  auto transport = Transport();
  RecordingSink sink;
  HttpRequest request = Get(server.Url("/"));
  request.deadline = steady_clock::now() - milliseconds(1);
  EXPECT_TRUE(transport->Perform(request, &sink).status().IsDeadlineExceeded());
  EXPECT_TRUE(server.requests().empty());
}

TEST(CurlTransportTest, SinkCanStopTheTransfer) {
  const std::string big(4 << 20, 'z');
  TestHttpServer server([&](const std::string&) { return TestHttpServer::Response(200, "", big); });
  auto transport = Transport();
  RecordingSink sink(1);
  auto head = transport->Perform(Get(server.Url("/big")), &sink);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_LT(sink.body.size(), big.size());
}

TEST(CurlTransportTest, EmptyBodyStillGetsOnHead) {
  TestHttpServer server([](const std::string& request) -> std::optional<std::string> {
    if (request.rfind("HEAD ", 0) == 0) {
      return "HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nX-Linked-Size: 12345\r\nConnection: close\r\n\r\n";
    }
    return TestHttpServer::Response(404, "X-Error-Code: EntryNotFound\r\n", "");
  });
  auto transport = Transport();
  RecordingSink sink;
  auto head = transport->Perform(Get(server.Url("/missing")), &sink);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 404);
  EXPECT_EQ(head->Header("x-error-code"), "EntryNotFound");
  EXPECT_EQ(sink.heads, 1);
  EXPECT_EQ(sink.head_status, 404);

  HttpRequest head_request = Get(server.Url("/file"));
  head_request.method = "HEAD";
  RecordingSink head_sink;
  auto head2 = transport->Perform(head_request, &head_sink);
  ASSERT_TRUE(head2.ok()) << head2.status().ToString();
  EXPECT_EQ(head2->status, 200);
  EXPECT_EQ(head2->Header("x-linked-size"), "12345");
  EXPECT_EQ(head_sink.heads, 1);
  EXPECT_TRUE(head_sink.body.empty());
}

TEST(CurlTransportTest, PostSendsTheBody) {
  TestHttpServer server([](const std::string&) { return TestHttpServer::Response(200, "", "[]"); });
  auto transport = Transport();
  HttpRequest request = Get(server.Url("/api/models/a/b/paths-info/main"));
  request.method = "POST";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"paths":["a","b"]})";
  RecordingSink sink;
  auto head = transport->Perform(request, &sink);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].rfind("POST ", 0), 0u);
  EXPECT_NE(requests[0].find(R"({"paths":["a","b"]})"), std::string::npos) << requests[0];
}

TEST(CurlTransportTest, TruncatedBodyIsUnavailableAfterDeliveringWhatCame) {
  TestHttpServer server([](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n") +
           std::string(50, 'a');
  });
  auto transport = Transport();
  RecordingSink sink;
  auto head = transport->Perform(Get(server.Url("/cut")), &sink);
  ASSERT_FALSE(head.ok());
  EXPECT_TRUE(head.status().IsUnavailable()) << head.status().ToString();
  EXPECT_EQ(sink.body, std::string(50, 'a'));
}

TEST(CurlTransportTest, ConnectErrorIsUnavailableWithoutTheQuery) {
  int port;
  {
    TestHttpServer closed([](const std::string&) { return std::nullopt; });
    port = closed.port();
  }  // the listening socket is closed: connections are refused
  auto transport = Transport();
  RecordingSink sink;
  auto head = transport->Perform(
      Get("http://127.0.0.1:" + std::to_string(port) + "/blob?X-Amz-Signature=SECRET"), &sink);
  ASSERT_FALSE(head.ok());
  EXPECT_TRUE(head.status().IsUnavailable()) << head.status().ToString();
  EXPECT_NE(head.status().message().find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(head.status().message().find("SECRET"), std::string::npos) << head.status().message();
}

TEST(CurlTransportTest, HeaderInjectionIsRefused) {
  auto transport = Transport();
  RecordingSink sink;
  HttpRequest request = Get("http://127.0.0.1:1/");
  request.headers = {{"Authorization", "Bearer x\r\nEvil: 1"}};
  EXPECT_EQ(transport->Perform(request, &sink).status().code(), Status::Code::kInvalidArgument);
}

TEST(CurlTransportTest, ManyThreadsShareOneTransport) {
  std::atomic<int> served{0};
  TestHttpServer server([&](const std::string& request) {
    ++served;
    const size_t start = request.find(' ') + 1;
    const std::string path = request.substr(start, request.find(' ', start) - start);
    return TestHttpServer::Response(200, "", path);
  });
  auto transport = Transport();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        RecordingSink sink;
        auto head = transport->Perform(Get(server.Url(path)), &sink);
        if (head.ok() && head->status == 200 && sink.body == path) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 30);
  EXPECT_EQ(served.load(), 30);
}

TEST(CurlTransportTest, CancelAllAbortsAHungTransferAndEveryLaterOne) {
  std::promise<void> reached;
  std::once_flag once;
  TestHttpServer server([&](const std::string&) -> std::optional<std::string> {
    std::call_once(once, [&] { reached.set_value(); });
    return std::nullopt;  // never answers
  });
  auto transport = Transport();
  Result<HttpResponseHead> result = Status::Internal("not run");
  RecordingSink sink;
  std::thread caller([&] { result = transport->Perform(Get(server.Url("/hang"), milliseconds(60000)), &sink); });
  std::atomic<bool> waited{true};
  std::thread sleeper([&] { waited = transport->WaitFor(seconds(60)); });
  // The request is on the wire and the server sits on it.
  const bool on_the_wire = reached.get_future().wait_for(seconds(20)) == std::future_status::ready;
  const auto start = steady_clock::now();
  transport->CancelAll();
  caller.join();
  sleeper.join();
  const auto elapsed = steady_clock::now() - start;
  ASSERT_TRUE(on_the_wire);
  EXPECT_LT(elapsed, seconds(5));  // one loop turn, generous for a loaded machine
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsUnavailable()) << result.status().ToString();
  EXPECT_NE(result.status().message().find("shutting down"), std::string::npos) << result.status().message();
  EXPECT_FALSE(waited.load());

  // Later exchanges and waits fail at once, without reaching the server.
  RecordingSink later;
  auto again = transport->Perform(Get(server.Url("/after")), &later);
  EXPECT_TRUE(again.status().IsUnavailable()) << again.status().ToString();
  EXPECT_FALSE(transport->WaitFor(seconds(60)));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlTransportTest, WaitForSleepsWhenNotCancelled) {
  auto transport = Transport();
  const auto start = steady_clock::now();
  EXPECT_TRUE(transport->WaitFor(milliseconds(50)));
  EXPECT_GE(steady_clock::now() - start, milliseconds(50));
}

TEST(CurlTransportTest, HubClientFetchesARangeEndToEnd) {
  const std::string content = "0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  TestHttpServer server([&](const std::string& request) -> std::optional<std::string> {
    if (request.find("/resolve/" + commit + "/f.txt") == std::string::npos) {
      return TestHttpServer::Response(404, "X-Error-Code: EntryNotFound\r\n", "");
    }
    return TestHttpServer::Response(206, "Content-Range: bytes 10-19/36\r\n", content.substr(10, 10));
  });
  auto transport = Transport();
  HubClientOptions options;
  options.endpoint = server.Url("");
  options.token = "tok";
  options.transport = transport.get();
  auto client = NewHubClient(options);
  class Collect : public RangeSink {
   public:
    bool OnBytes(const char* d, size_t n) override {
      bytes.append(d, n);
      return true;
    }
    std::string bytes;
  } sink;
  FileLocation file{{RepoKind::kModel, "ns/name"}, commit, "f.txt", content.size(), false};
  Status s = client->FetchRange(file, 10, 10, &sink, steady_clock::now() + seconds(20));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content.substr(10, 10));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].find("\r\nRange: bytes=10-19\r\n"), std::string::npos) << requests[0];
  EXPECT_NE(requests[0].find("\r\nAccept-Encoding: identity\r\n"), std::string::npos);
  EXPECT_NE(requests[0].find("\r\nAuthorization: Bearer tok\r\n"), std::string::npos);
}

TEST(CurlTransportTest, HubClientFailsOverFromARefusingEndpoint) {
  int closed_port;
  {
    TestHttpServer closed([](const std::string&) { return std::nullopt; });
    closed_port = closed.port();
  }
  const std::string content = "0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  TestHttpServer server([&](const std::string&) {
    return TestHttpServer::Response(206, "Content-Range: bytes 0-9/36\r\n", content.substr(0, 10));
  });
  auto transport = Transport();
  HubClientOptions options;
  options.endpoints = {"http://127.0.0.1:" + std::to_string(closed_port), server.Url("")};
  options.token = "tok";
  options.transport = transport.get();
  auto client = NewHubClient(options);
  class Collect : public RangeSink {
   public:
    bool OnBytes(const char* d, size_t n) override {
      bytes.append(d, n);
      return true;
    }
    std::string bytes;
  } sink;
  FileLocation file{{RepoKind::kModel, "ns/name"}, commit, "f.txt", content.size(), false};
  Status s = client->FetchRange(file, 0, 10, &sink, steady_clock::now() + seconds(20));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.bytes, content.substr(0, 10));
  const auto stats = client->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].failures, 1u);
  EXPECT_EQ(stats[0].state, "backing-off");
  EXPECT_EQ(stats[1].bytes, 10u);
}

}  // namespace
}  // namespace hfm
