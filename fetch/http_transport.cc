#include "fetch/http_transport.h"

#include <thread>

namespace hfm {

std::string HttpResponseHead::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

bool HttpResponseHead::HasHeader(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return true;
  }
  return false;
}

bool StringSink::OnData(const char* data, size_t len) {
  if (body_.size() + len > limit_) {
    overflowed_ = true;
    return false;
  }
  body_.append(data, len);
  return true;
}

bool HttpTransport::WaitFor(Duration d) {
  if (d > Duration::zero()) std::this_thread::sleep_for(d);
  return true;
}

}  // namespace hfm
