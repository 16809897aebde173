// RecordingStore: a BlockStore that forwards to another and records the
// hints the read path gives it (Touch for eviction, WillRead for the disk),
// which the stores themselves keep no trace of.
#pragma once

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "cache/block_store.h"

namespace hfm::testing {

class RecordingStore : public BlockStore {
 public:
  explicit RecordingStore(BlockStore* base) : base_(base) {}
  uint32_t block_size() const override { return base_->block_size(); }
  Result<bool> ReadBlock(const ContentHash& f, uint32_t i, size_t o, std::span<char> out) override {
    return base_->ReadBlock(f, i, o, out);
  }
  Result<std::optional<std::string>> GetBlock(const ContentHash& f, uint32_t i) override {
    return base_->GetBlock(f, i);
  }
  Result<bool> HasBlock(const ContentHash& f, uint32_t i) override { return base_->HasBlock(f, i); }
  Result<uint64_t> CachedBytes(const ContentHash& f) override { return base_->CachedBytes(f); }
  Status PutBlock(const ContentHash& f, uint32_t i, std::string_view d, uint64_t* epoch) override {
    return base_->PutBlock(f, i, d, epoch);
  }
  Result<uint64_t> FileEpoch(const ContentHash& f) override { return base_->FileEpoch(f); }
  Status MarkComplete(const ContentHash& f, uint64_t size, uint64_t epoch) override {
    return base_->MarkComplete(f, size, epoch);
  }
  Result<bool> IsComplete(const ContentHash& f) override { return base_->IsComplete(f); }
  Status DropFile(const ContentHash& f, uint64_t size) override { return base_->DropFile(f, size); }
  Status MarkFailedVerification(const ContentHash& f) override { return base_->MarkFailedVerification(f); }
  Result<bool> FailedVerification(const ContentHash& f) override { return base_->FailedVerification(f); }
  BlockStoreStats Stats() override { return base_->Stats(); }
  Result<std::vector<StoredFile>> ListFiles() override { return base_->ListFiles(); }
  void Touch(const ContentHash& f) override {
    std::lock_guard<std::mutex> lock(mu_);
    touches_[f]++;
  }
  void WillRead(const ContentHash& f, uint32_t index) override {
    std::lock_guard<std::mutex> lock(mu_);
    hints_[f].push_back(index);
  }

  int touches(const ContentHash& f) {
    std::lock_guard<std::mutex> lock(mu_);
    return touches_[f];
  }
  // The blocks of `f` named by WillRead, in the order named.
  std::vector<uint32_t> hints(const ContentHash& f) {
    std::lock_guard<std::mutex> lock(mu_);
    return hints_[f];
  }

 private:
  BlockStore* const base_;
  std::mutex mu_;
  std::map<ContentHash, int> touches_;                   // GUARDED_BY(mu_)
  std::map<ContentHash, std::vector<uint32_t>> hints_;  // GUARDED_BY(mu_)
};

}  // namespace hfm::testing
