#include "fetch/hub_errors.h"

#include <string>

#include "fetch/log_text.h"

namespace hfm {

Status HubErrorStatus(const HttpResponseHead& head, std::string_view context) {
  const int code = head.status;
  if (code >= 200 && code <= 299) return Status::Ok();
  const std::string error_code = head.Header("x-error-code");
  const std::string error_message = head.Header("x-error-message");
  std::string message = std::string(context) + ": HTTP " + std::to_string(code);
  if (!error_code.empty()) message += " " + LogSafe(error_code, 64);
  if (!error_message.empty()) message += ": " + LogSafe(error_message);

  if (code == 404) return Status::NotFound(message);
  // Anonymous requests for private or missing repos get 401 RepoNotFound:
  // to a reader the repo does not exist.
  if (code == 401 && error_code == "RepoNotFound") return Status::NotFound(message);
  if (code == 401 || code == 403) return Status::PermissionDenied(message);
  if (code == 416) return Status::OutOfRange(message);
  return Status::Unavailable(message);
}

Status OffHostHubError(const HttpResponseHead& head, std::string_view context, std::string_view via) {
  Status status = HubErrorStatus(head, context);
  const std::string why = " (" + std::string(via) +
                          " redirected there; the token is never sent to another host: read it through an "
                          "endpoint that serves this repo itself)";
  return Status(status.code(), status.message() + why);
}

}  // namespace hfm
