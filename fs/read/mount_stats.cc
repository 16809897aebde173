#include "fs/read/mount_stats.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace hfm {

double MountStats::cache_hit_ratio() const {
  const uint64_t total = blocks_from_cache + blocks_fetched;
  return total == 0 ? 0.0 : static_cast<double>(blocks_from_cache) / static_cast<double>(total);
}

void ReadCounters(const MountCounters& c, MountStats* s) {
  s->reads = c.reads.load(std::memory_order_relaxed);
  s->read_errors = c.read_errors.load(std::memory_order_relaxed);
  s->bytes_served = c.bytes_served.load(std::memory_order_relaxed);
  s->blocks_from_cache = c.blocks_from_cache.load(std::memory_order_relaxed);
  s->blocks_fetched = c.blocks_fetched.load(std::memory_order_relaxed);
  s->bytes_fetched = c.bytes_fetched.load(std::memory_order_relaxed);
  s->direct_reads = c.direct_reads.load(std::memory_order_relaxed);
  s->fetches_in_flight = c.fetches_in_flight.load(std::memory_order_relaxed);
  s->open_files = c.open_files.load(std::memory_order_relaxed);
}

std::string StatsJson(const MountStats& s) {
  nlohmann::json endpoints = nlohmann::json::array();
  for (const auto& e : s.endpoints) {
    endpoints.push_back({{"url", e.endpoint},
                         {"state", e.state},
                         {"healthy", e.state == "healthy"},
                         {"requests", e.requests},
                         {"failures", e.failures},
                         {"bytes", e.bytes},
                         {"last_error", e.last_error}});
  }
  nlohmann::json j = {
      {"version", s.version},
      {"uptime_seconds", s.uptime_seconds},
      {"endpoints", endpoints},
      {"reads", s.reads},
      {"read_errors", s.read_errors},
      {"bytes_served", s.bytes_served},
      {"bytes_fetched", s.bytes_fetched},
      {"blocks_from_cache", s.blocks_from_cache},
      {"blocks_fetched", s.blocks_fetched},
      {"direct_reads", s.direct_reads},
      {"cache_hit_ratio", s.cache_hit_ratio()},
      {"open_files", s.open_files},
      {"fetches_in_flight", s.fetches_in_flight},
      {"memory",
       {{"used_bytes", s.memory_used},
        {"peak_bytes", s.memory_peak},
        {"limit_bytes", s.memory_limit},
        {"ceiling_bytes", s.memory_ceiling}}},
      {"link", {{"round_trip_ms", s.link_round_trip_ms}, {"readahead_get_bytes", s.readahead_get_bytes}}},
      {"cache",
       {{"blocks", s.cache.blocks},
        {"block_bytes", s.cache.block_bytes},
        {"complete_files", s.cache.complete_files},
        {"data_file_bytes", s.cache.file_bytes},
        {"quota_bytes", s.cache.map_size}}},
  };
  return j.dump(2) + "\n";
}

namespace {

// Prometheus label values escape backslash, quote and newline.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Metric(std::string* out, const char* name, const char* type, const char* help, double value) {
  char num[64];
  std::snprintf(num, sizeof(num), "%.17g", value);
  *out += std::string("# HELP hfmirror_") + name + " " + help + "\n# TYPE hfmirror_" + name + " " + type +
          "\nhfmirror_" + name + " " + num + "\n";
}

}  // namespace

std::string PrometheusText(const MountStats& s) {
  std::string out;
  Metric(&out, "uptime_seconds", "gauge", "Seconds since the mount started.", static_cast<double>(s.uptime_seconds));
  Metric(&out, "reads_total", "counter", "Read requests answered.", static_cast<double>(s.reads));
  Metric(&out, "read_errors_total", "counter", "Read requests that failed.", static_cast<double>(s.read_errors));
  Metric(&out, "served_bytes_total", "counter", "Bytes returned by reads.", static_cast<double>(s.bytes_served));
  Metric(&out, "fetched_bytes_total", "counter", "File bytes that arrived from the network.",
         static_cast<double>(s.bytes_fetched));
  Metric(&out, "cache_hit_blocks_total", "counter", "Blocks reads copied from the cache.",
         static_cast<double>(s.blocks_from_cache));
  Metric(&out, "fetched_blocks_total", "counter", "Blocks that arrived from the network.",
         static_cast<double>(s.blocks_fetched));
  Metric(&out, "direct_reads_total", "counter", "Reads served by a GET of just their bytes (seeks).",
         static_cast<double>(s.direct_reads));
  Metric(&out, "cache_hit_ratio", "gauge", "Blocks from the cache over all blocks read.", s.cache_hit_ratio());
  Metric(&out, "open_files", "gauge", "File handles open now.", static_cast<double>(s.open_files));
  Metric(&out, "fetches_in_flight", "gauge", "Ranged GETs running now.", static_cast<double>(s.fetches_in_flight));
  Metric(&out, "memory_used_bytes", "gauge", "Fetched bytes held in memory now.", static_cast<double>(s.memory_used));
  Metric(&out, "memory_limit_bytes", "gauge", "The memory budget's working limit (at most max_memory).", static_cast<double>(s.memory_limit));
  Metric(&out, "cache_block_bytes", "gauge", "Bytes of blocks in the cache.", static_cast<double>(s.cache.block_bytes));
  Metric(&out, "cache_complete_files", "gauge", "Verified complete files in the cache.",
         static_cast<double>(s.cache.complete_files));
  Metric(&out, "cache_quota_bytes", "gauge", "The cache quota (cache_size).", static_cast<double>(s.cache.map_size));
  out += "# HELP hfmirror_endpoint_up 1 if the endpoint is healthy, 0 if backing off or rate-limited.\n"
         "# TYPE hfmirror_endpoint_up gauge\n";
  for (const auto& e : s.endpoints) {
    out += "hfmirror_endpoint_up{endpoint=\"" + LabelValue(e.endpoint) + "\"} " + (e.state == "healthy" ? "1" : "0") +
           "\n";
  }
  out += "# HELP hfmirror_endpoint_requests_total Attempts sent to the endpoint.\n"
         "# TYPE hfmirror_endpoint_requests_total counter\n";
  for (const auto& e : s.endpoints) {
    out += "hfmirror_endpoint_requests_total{endpoint=\"" + LabelValue(e.endpoint) + "\"} " +
           std::to_string(e.requests) + "\n";
  }
  out += "# HELP hfmirror_endpoint_failures_total Attempts that failed at the endpoint.\n"
         "# TYPE hfmirror_endpoint_failures_total counter\n";
  for (const auto& e : s.endpoints) {
    out += "hfmirror_endpoint_failures_total{endpoint=\"" + LabelValue(e.endpoint) + "\"} " +
           std::to_string(e.failures) + "\n";
  }
  out += "# HELP hfmirror_endpoint_bytes_total File bytes the endpoint delivered.\n"
         "# TYPE hfmirror_endpoint_bytes_total counter\n";
  for (const auto& e : s.endpoints) {
    out += "hfmirror_endpoint_bytes_total{endpoint=\"" + LabelValue(e.endpoint) + "\"} " + std::to_string(e.bytes) +
           "\n";
  }
  return out;
}

}  // namespace hfm
