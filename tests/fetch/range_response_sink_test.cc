#include "fetch/range_response_sink.h"

#include <gtest/gtest.h>

#include <string>

namespace hfm {
namespace {

class CollectSink : public RangeSink {
 public:
  explicit CollectSink(size_t stop_after = SIZE_MAX) : stop_after_(stop_after) {}
  bool OnBytes(const char* data, size_t len) override {
    bytes.append(data, len);
    return bytes.size() < stop_after_;
  }
  std::string bytes;

 private:
  size_t stop_after_;
};

HttpResponseHead Head(int status, HttpHeaders headers = {}) {
  HttpResponseHead h;
  h.status = status;
  h.headers = std::move(headers);
  return h;
}

// Feeds `body` in `chunk`-byte pieces until the sink says stop; returns how
// many bytes it accepted.
size_t Feed(RangeResponseSink* sink, const std::string& body, size_t chunk) {
  size_t at = 0;
  while (at < body.size()) {
    const size_t n = std::min(chunk, body.size() - at);
    at += n;
    if (!sink->OnData(body.data() + at - n, n)) break;
  }
  return at;
}

const std::string kFile = "0123456789abcdefghij";  // 20 bytes

TEST(RangeResponseSinkTest, PartialContentDeliversTheRange) {
  CollectSink out;
  RangeResponseSink sink(5, 10, kFile.size(), &out);
  ASSERT_TRUE(sink.OnHead(Head(206, {{"content-range", "bytes 5-9/20"}})));
  Feed(&sink, kFile.substr(5, 5), 2);
  EXPECT_EQ(out.bytes, "56789");
  EXPECT_EQ(sink.delivered(), 5u);
  EXPECT_TRUE(sink.status().ok());
}

TEST(RangeResponseSinkTest, WrongContentRangeIsDataLoss) {
  for (const char* bad : {"bytes 4-9/20", "bytes 5-9/21", "bytes 5-9/*", "bytes */20", "garbage"}) {
    CollectSink out;
    RangeResponseSink sink(5, 10, kFile.size(), &out);
    EXPECT_FALSE(sink.OnHead(Head(206, {{"content-range", bad}}))) << bad;
    EXPECT_TRUE(sink.status().IsDataLoss()) << bad;
  }
  CollectSink out;
  RangeResponseSink sink(5, 10, kFile.size(), &out);
  EXPECT_FALSE(sink.OnHead(Head(206)));
  EXPECT_TRUE(sink.status().IsDataLoss());
}

TEST(RangeResponseSinkTest, NeverDeliversMoreThanAsked) {
  CollectSink out;
  RangeResponseSink sink(5, 10, kFile.size(), &out);
  ASSERT_TRUE(sink.OnHead(Head(206, {{"content-range", "bytes 5-19/20"}})));
  Feed(&sink, kFile.substr(5), 3);
  EXPECT_EQ(out.bytes, "56789");
}

TEST(RangeResponseSinkTest, WholeBodySkipsToTheOffsetAndStops) {
  for (size_t chunk : {1, 3, 5, 7, 20}) {
    CollectSink out;
    RangeResponseSink sink(5, 10, kFile.size(), &out);
    ASSERT_TRUE(sink.OnHead(Head(200, {{"content-length", "20"}})));
    const size_t read = Feed(&sink, kFile, chunk);
    EXPECT_EQ(out.bytes, "56789") << chunk;
    if (chunk == 1) {
      EXPECT_EQ(read, 10u);  // nothing read past the range
    }
  }
}

TEST(RangeResponseSinkTest, WholeBodyOfTheWrongSizeIsDataLoss) {
  CollectSink out;
  RangeResponseSink sink(0, 10, kFile.size(), &out);
  EXPECT_FALSE(sink.OnHead(Head(200, {{"content-length", "21"}})));
  EXPECT_TRUE(sink.status().IsDataLoss());
}

TEST(RangeResponseSinkTest, CallerStopIsReported) {
  CollectSink out(3);
  RangeResponseSink sink(0, 10, kFile.size(), &out);
  ASSERT_TRUE(sink.OnHead(Head(206, {{"content-range", "bytes 0-9/20"}})));
  Feed(&sink, kFile.substr(0, 10), 2);
  EXPECT_TRUE(sink.sink_stopped());
  EXPECT_EQ(sink.delivered(), 4u);  // the chunk that crossed the limit was handed over whole
}

TEST(RangeResponseSinkTest, ErrorBodiesAreDrainedNotDelivered) {
  CollectSink out;
  RangeResponseSink sink(0, 10, kFile.size(), &out);
  ASSERT_TRUE(sink.OnHead(Head(302)));
  EXPECT_TRUE(sink.OnData("redirect body", 13));
  EXPECT_TRUE(out.bytes.empty());
  const std::string big(100 << 10, 'x');
  EXPECT_FALSE(sink.OnData(big.data(), big.size()));
}

}  // namespace
}  // namespace hfm
