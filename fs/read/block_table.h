// BlockTable: one small value per block of a file, stored in pages that exist
// only where a block was given a value other than the default.
//
// A file's listed size is not under our control (a hostile mirror may list
// 2^50 bytes), so per-file state must grow with the blocks touched, not with
// the block count: one dense byte per block cost 1 GiB per open of such a
// file. A page covers kPageBlocks blocks (4 GiB of file at 1 MiB blocks), so
// a file read whole costs about what a dense table did, and a file opened
// and read at a few places costs a few pages.
//
// Thread safety: none; the owner guards it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>

namespace hfm {

template <typename T>
class BlockTable {
 public:
  static constexpr uint32_t kPageBlocks = 4096;

  explicit BlockTable(T fill) : fill_(fill) {}

  T Get(uint32_t index) const {
    auto it = pages_.find(index / kPageBlocks);
    return it == pages_.end() ? fill_ : (*it->second)[index % kPageBlocks];
  }

  void Set(uint32_t index, T value) {
    auto it = pages_.find(index / kPageBlocks);
    if (it == pages_.end()) {
      if (value == fill_) return;  // nothing to record: the page stays absent
      auto page = std::make_unique<Page>();
      page->fill(fill_);
      it = pages_.emplace(index / kPageBlocks, std::move(page)).first;
    }
    (*it->second)[index % kPageBlocks] = value;
  }

  // Every block takes `fill`, and every page goes.
  void Reset(T fill) {
    pages_.clear();
    fill_ = fill;
  }

  // Every block holding `from` takes `to` (`from` must not be the fill).
  void ReplaceAll(T from, T to) {
    for (auto& entry : pages_) {
      for (T& value : *entry.second) {
        if (value == from) value = to;
      }
    }
  }

 private:
  using Page = std::array<T, kPageBlocks>;

  T fill_;
  std::map<uint32_t, std::unique_ptr<Page>> pages_;
};

}  // namespace hfm
