// TestHttpServer: a tiny HTTP/1.1 server on 127.0.0.1 (port chosen by the
// kernel) for testing the real transport. One thread serves connections one
// at a time: it reads a request's head, asks the handler for a canned raw
// response and writes it, closing the connection. A handler that returns
// nullopt never answers: the connection is held open until the server stops
// (a stalled server). Shutdown is signalled through a pipe, so no test
// sleeps or polls with timeouts.
//
// Thread safety: requests() may be called from any thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hfm {

class TestHttpServer {
 public:
  // Gets the raw request head (request line + headers); returns the raw
  // response bytes, or nullopt to never answer.
  using Handler = std::function<std::optional<std::string>(const std::string& request)>;

  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) std::abort();
    thread_ = std::thread([this] { Serve(); });
  }

  ~TestHttpServer() {
    char c = 'x';
    (void)!::write(stop_pipe_[1], &c, 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // "HTTP/1.1 <status>" with the given extra header lines, a Content-Length
  // and the body.
  static std::string Response(int status, const std::string& headers, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\n" + headers + "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }

 private:
  // Waits until `fd` is readable; false when the server is stopping.
  bool WaitReadable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    while (true) {
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return false;
      if (fds[0].revents) return true;
    }
  }

  static size_t ContentLength(const std::string& head) {
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(tolower(c));
    const size_t at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return static_cast<size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::string request;
      char buf[4096];
      bool stopping = false;
      while (request.find("\r\n\r\n") == std::string::npos) {
        if (!WaitReadable(conn)) {
          stopping = true;
          break;
        }
        const ssize_t n = ::read(conn, buf, sizeof(buf));
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      if (stopping) {
        ::close(conn);
        return;
      }
      // A POST body follows the head: read Content-Length bytes of it.
      const size_t head_end = request.find("\r\n\r\n");
      const size_t length = ContentLength(request.substr(0, head_end));
      while (head_end != std::string::npos && request.size() < head_end + 4 + length) {
        if (!WaitReadable(conn)) break;
        const ssize_t n = ::read(conn, buf, sizeof(buf));
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      const std::optional<std::string> response = handler_(request);
      if (!response) {
        // Stall: hold the connection until shutdown.
        WaitReadable(stop_pipe_[0]);
        ::close(conn);
        return;
      }
      size_t sent = 0;
      while (sent < response->size()) {
        const ssize_t n = ::send(conn, response->data() + sent, response->size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::shutdown(conn, SHUT_WR);
      ::close(conn);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
};

}  // namespace hfm
