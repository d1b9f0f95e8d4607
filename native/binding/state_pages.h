// Stream states as JavaScript keeps them: in pages, Float32Arrays of rows_per_page rows of
// `width` floats each, a stream owning one row (its slot: page * rows_per_page + row). A
// stream call copies its rows in when it is made (on the JavaScript thread) and writes the new
// states back into the same rows as it settles (on the JavaScript thread too), so no state is
// copied in JavaScript and the worker never touches JavaScript memory.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

namespace rnn_binding {

class StatePages {
 public:
  // pages: an Array of Float32Arrays of equal length, a multiple of width; slots: an Int32Array
  // of `rows` slots, each naming a row of a page. Copies those rows into `out` [rows × width].
  StatePages(const Napi::Value& pages, const Napi::Value& slots, size_t rows, size_t width,
             std::vector<float>& out);

  // Writes `rows` [rows × width] back into the slots' rows. Pages added meanwhile are fine;
  // throws if the pages the call read changed (one removed, detached or resized): nothing is
  // written then.
  void write_back(Napi::Env env, const std::vector<float>& rows);

 private:
  // The page arrays, each checked: a Float32Array of page_length_ floats.
  std::vector<Napi::Float32Array> read_pages(Napi::Env env) const;

  Napi::Reference<Napi::Array> pages_;
  std::vector<int32_t> slots_;
  size_t width_ = 0, page_length_ = 0, rows_per_page_ = 0, page_count_ = 0;
};

}  // namespace rnn_binding
