// URL helpers for the Hub protocol: percent-encoding of path segments and
// revisions, a minimal http(s) URL parser, same-origin checks (the token may
// only go to the endpoint's own host) and Location resolution for redirects
// the transport does not follow.
//
// Only http and https URLs are understood; anything else parses as nullopt.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hfm {

// Percent-encodes one path segment: RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~) stay, every other byte (space, '/', '#', '%', '?',
// UTF-8 bytes) becomes %XX with upper-case hex.
std::string PercentEncodePathSegment(std::string_view segment);

// Percent-encodes each '/'-separated segment of `path`; the '/' stay.
std::string PercentEncodePath(std::string_view path);

// A revision is ONE path segment on the Hub: "refs/pr/1" -> "refs%2Fpr%2F1".
std::string PercentEncodeRevision(std::string_view revision);

struct ParsedUrl {
  std::string scheme;          // "http" or "https", lower case
  std::string host;            // lower case; an IPv6 literal keeps its brackets
  int port = 0;                // explicit, or 80/443 by scheme
  std::string path_and_query;  // starts with '/'; the fragment is dropped

  // "scheme://host[:port]" (the port only when not the scheme's default).
  std::string Origin() const;
};

// Parses an absolute http(s) URL. Userinfo ("user@") is skipped. Returns
// nullopt for other schemes, an empty host, or a bad port.
std::optional<ParsedUrl> ParseUrl(std::string_view url);

// True if both URLs parse and share scheme, host and port.
bool SameHost(std::string_view a, std::string_view b);

// The absolute URL a Location header value points to, relative to the URL
// that answered: absolute ("https://h/x"), scheme-relative ("//h/x"),
// absolute-path ("/x"), query-only ("?q") or relative-path ("x", "../x")
// references. Returns nullopt when either side cannot be used (a non-http
// scheme, an empty location, an unparsable base).
std::optional<std::string> ResolveRedirect(std::string_view base_url, std::string_view location);

// True when the authority of `url` holds userinfo ("user:password@host").
// Such URLs are refused as endpoints: the password would reach log lines,
// xattrs, stats and metrics labels.
bool HasUserinfo(std::string_view url);

// True for hosts that never leave this machine: "localhost", 127.0.0.0/8
// and [::1] (as ParsedUrl::host spells them). Plain http to them cannot be
// read on the wire.
bool IsLoopbackHost(std::string_view host);

// True when `url` is plain http to a host that is neither loopback nor one
// of `allowed_hosts` (lower-case host names or literals, ParsedUrl::host
// spelling): a bearer token sent there would cross the network in clear.
bool IsCleartextToForeignHost(std::string_view url, const std::vector<std::string>& allowed_hosts);

// `url` without its query string, fragment or userinfo: safe for log lines,
// since a pre-signed CDN URL's query is a credential.
std::string StripQuery(std::string_view url);

}  // namespace hfm
