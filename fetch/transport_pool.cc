#include "fetch/transport_pool.h"

#include <atomic>
#include <limits>

namespace hfm {
namespace {

class TransportPool : public HttpTransport {
 public:
  explicit TransportPool(std::vector<std::unique_ptr<HttpTransport>> members)
      : members_(std::move(members)), in_flight_(members_.size()) {}

  Result<HttpResponseHead> Perform(const HttpRequest& request, BodySink* sink) override {
    const size_t i = Pick();
    struct Leave {
      std::atomic<int>* count;
      ~Leave() { count->fetch_sub(1, std::memory_order_relaxed); }
    } leave{&in_flight_[i]};
    return members_[i]->Perform(request, sink);
  }

  // Cancelling cancels every member, the first one included.
  bool WaitFor(Duration d) override { return members_.front()->WaitFor(d); }

  void CancelAll() override {
    for (auto& m : members_) m->CancelAll();
  }

 private:
  // The pick is counted in before it returns, so callers racing here see
  // each other and spread.
  size_t Pick() {
    for (;;) {
      size_t best = 0;
      int fewest = std::numeric_limits<int>::max();
      for (size_t i = 0; i < members_.size(); ++i) {
        const int n = in_flight_[i].load(std::memory_order_relaxed);
        if (n < fewest) {
          fewest = n;
          best = i;
        }
      }
      int expected = fewest;
      if (in_flight_[best].compare_exchange_weak(expected, fewest + 1, std::memory_order_relaxed)) return best;
    }
  }

  std::vector<std::unique_ptr<HttpTransport>> members_;
  std::vector<std::atomic<int>> in_flight_;
};

}  // namespace

std::unique_ptr<HttpTransport> NewTransportPool(std::vector<std::unique_ptr<HttpTransport>> members) {
  if (members.size() == 1) return std::move(members.front());
  return std::make_unique<TransportPool>(std::move(members));
}

}  // namespace hfm
