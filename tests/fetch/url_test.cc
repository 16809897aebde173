#include "fetch/url.h"

#include <gtest/gtest.h>

namespace hfm {
namespace {

TEST(PercentEncodeTest, KeepsUnreservedEncodesEverythingElse) {
  EXPECT_EQ(PercentEncodePathSegment("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncodePathSegment("a b#c%d?e"), "a%20b%23c%25d%3Fe");
  EXPECT_EQ(PercentEncodePathSegment("a/b"), "a%2Fb");
  EXPECT_EQ(PercentEncodePathSegment("\xc3\xa9"), "%C3%A9");  // é in UTF-8
  EXPECT_EQ(PercentEncodePathSegment(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(PercentEncodePathSegment(""), "");
}

TEST(PercentEncodeTest, PathKeepsSlashes) {
  EXPECT_EQ(PercentEncodePath("dir one/file#1.txt"), "dir%20one/file%231.txt");
  EXPECT_EQ(PercentEncodePath("a/b/c"), "a/b/c");
  EXPECT_EQ(PercentEncodePath("x+y=z&q"), "x%2By%3Dz%26q");
}

TEST(PercentEncodeTest, RevisionIsOneSegment) {
  EXPECT_EQ(PercentEncodeRevision("refs/pr/1"), "refs%2Fpr%2F1");
  EXPECT_EQ(PercentEncodeRevision("refs/convert/parquet"), "refs%2Fconvert%2Fparquet");
  EXPECT_EQ(PercentEncodeRevision("main"), "main");
}

TEST(ParseUrlTest, SplitsSchemeHostPortPath) {
  auto u = ParseUrl("https://HuggingFace.co/api/models/x?y=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "huggingface.co");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path_and_query, "/api/models/x?y=1");
  EXPECT_EQ(u->Origin(), "https://huggingface.co");

  u = ParseUrl("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path_and_query, "/");
  EXPECT_EQ(u->Origin(), "http://127.0.0.1:8080");

  u = ParseUrl("http://[::1]:9/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_EQ(u->port, 9);

  u = ParseUrl("https://user:pw@evil.example/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "evil.example");

  u = ParseUrl("https://h?q=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path_and_query, "/?q=1");
}

TEST(ParseUrlTest, RefusesWhatItCannotUse) {
  EXPECT_FALSE(ParseUrl(""));
  EXPECT_FALSE(ParseUrl("huggingface.co/x"));
  EXPECT_FALSE(ParseUrl("ftp://h/x"));
  EXPECT_FALSE(ParseUrl("https:///x"));
  EXPECT_FALSE(ParseUrl("https://h:0/"));
  EXPECT_FALSE(ParseUrl("https://h:65536/"));
  EXPECT_FALSE(ParseUrl("https://h:8a/"));
  EXPECT_FALSE(ParseUrl("https://h :1/"));
  EXPECT_FALSE(ParseUrl("https://[::1/"));
  EXPECT_FALSE(ParseUrl("https://a\\b/"));
  // A ':' left in a host outside brackets (found by the path fuzzer).
  EXPECT_FALSE(ParseUrl("https://a:b:/x"));
  EXPECT_FALSE(ParseUrl("https://h:65536:443/x"));
  EXPECT_TRUE(ParseUrl("https://[::1]:8443/x"));
}

TEST(SameHostTest, ComparesSchemeHostAndPort) {
  EXPECT_TRUE(SameHost("https://huggingface.co/a", "https://HUGGINGFACE.co:443/b?c"));
  EXPECT_FALSE(SameHost("https://huggingface.co/a", "http://huggingface.co/a"));
  EXPECT_FALSE(SameHost("https://huggingface.co/a", "https://cdn-lfs.huggingface.co/a"));
  EXPECT_FALSE(SameHost("https://huggingface.co/a", "https://huggingface.co:8443/a"));
  EXPECT_FALSE(SameHost("https://huggingface.co@evil.com/", "https://huggingface.co/"));
  EXPECT_FALSE(SameHost("not a url", "not a url"));
}

TEST(ResolveRedirectTest, HandlesEveryReferenceForm) {
  const std::string base = "https://hub.example/models/a/b/resolve/c/x.bin?x=1";
  EXPECT_EQ(ResolveRedirect(base, "https://cdn.example/f?sig=1"), "https://cdn.example/f?sig=1");
  EXPECT_EQ(ResolveRedirect(base, "//cdn.example/f"), "https://cdn.example/f");
  EXPECT_EQ(ResolveRedirect(base, "/new/name/resolve/c/x.bin"), "https://hub.example/new/name/resolve/c/x.bin");
  EXPECT_EQ(ResolveRedirect(base, "y.bin"), "https://hub.example/models/a/b/resolve/c/y.bin");
  EXPECT_EQ(ResolveRedirect(base, "../d/y.bin"), "https://hub.example/models/a/b/resolve/d/y.bin");
  EXPECT_EQ(ResolveRedirect(base, "?q=2"), "https://hub.example/models/a/b/resolve/c/x.bin?q=2");
  EXPECT_EQ(ResolveRedirect(base, "/a/../../b/./c/"), "https://hub.example/b/c/");
  EXPECT_EQ(ResolveRedirect(base, "  /x  "), "https://hub.example/x");
  EXPECT_EQ(ResolveRedirect("http://h:8080/a/b", "c"), "http://h:8080/a/c");
  EXPECT_EQ(ResolveRedirect(base, "/x y/\xc3\xa9"), "https://hub.example/x%20y/%C3%A9");
}

TEST(ResolveRedirectTest, RefusesUnusableLocations) {
  EXPECT_FALSE(ResolveRedirect("https://h/a", ""));
  EXPECT_FALSE(ResolveRedirect("https://h/a", "javascript:alert(1)"));
  EXPECT_FALSE(ResolveRedirect("https://h/a", "ftp://h/x"));
  EXPECT_FALSE(ResolveRedirect("https://h/a", "/x\r\nSet-Cookie: y"));
  EXPECT_FALSE(ResolveRedirect("https://h/a", "https:///x"));
  EXPECT_FALSE(ResolveRedirect("nonsense", "/x"));
}

TEST(StripQueryTest, DropsQueryFragmentAndUserinfo) {
  EXPECT_EQ(StripQuery("https://cdn.example/f?X-Amz-Signature=secret"), "https://cdn.example/f");
  EXPECT_EQ(StripQuery("https://h/a#frag"), "https://h/a");
  EXPECT_EQ(StripQuery("https://user:pw@h/a?x"), "https://h/a");
  EXPECT_EQ(StripQuery("https://user:pw@h?x"), "https://h");
  EXPECT_EQ(StripQuery("no scheme?q"), "no scheme");
}

}  // namespace
}  // namespace hfm

namespace hfm {
namespace {

TEST(ResolveRedirectFuzzRegression, GarbledAuthorityYieldsNoUrlRatherThanAnUnparsableOne) {
  auto r = ResolveRedirect("https://cdn-lfs.hf.co/a/b", "  //\xff  t\xc3\xbcn\xc3\xaf:6z53://%2https ");
  if (r) {
    EXPECT_TRUE(ParseUrl(*r).has_value()) << *r;
  }
}

TEST(UrlCredentialsTest, HasUserinfoSeesUserAndPasswordInTheAuthorityOnly) {
  EXPECT_TRUE(HasUserinfo("http://user:s3cret@host"));
  EXPECT_TRUE(HasUserinfo("https://user@host:8443/x"));
  EXPECT_FALSE(HasUserinfo("https://host/path@x?q=a@b"));
  EXPECT_FALSE(HasUserinfo("https://huggingface.co"));
}

TEST(UrlCredentialsTest, LoopbackHostsAreLocalhost127And6Colon1) {
  for (const char* h : {"localhost", "127.0.0.1", "127.255.0.9", "[::1]"}) EXPECT_TRUE(IsLoopbackHost(h)) << h;
  for (const char* h : {"127.evil.example", "127.0.0.1.nip.io", "1270.0.0.1", "127.0.0", "10.0.0.1", "[::2]",
                        "localhost.example", "127.0.0.1234"}) {
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
  }
}

TEST(UrlCredentialsTest, CleartextToForeignHostUnlessLoopbackHttpsOrAllowed) {
  EXPECT_TRUE(IsCleartextToForeignHost("http://mirror.example/x", {}));
  EXPECT_TRUE(IsCleartextToForeignHost("http://mirror.example", {"other"}));
  EXPECT_FALSE(IsCleartextToForeignHost("http://Mirror.Example", {"mirror.EXAMPLE"}));
  EXPECT_FALSE(IsCleartextToForeignHost("https://mirror.example", {}));
  EXPECT_FALSE(IsCleartextToForeignHost("http://127.0.0.1:9", {}));
}

}  // namespace
}  // namespace hfm
