#include "state_pages.h"

#include <cstring>
#include <string>

#include "arguments.h"
#include "errors.h"

namespace rnn_binding {

namespace {

constexpr uint32_t kMaxPages = 1u << 20;

}  // namespace

std::vector<Napi::Float32Array> StatePages::read_pages(Napi::Env env) const {
  Napi::Array pages = pages_.Value();
  // Pages may be added while a call runs (a new stream's slot); the call's slots index only
  // the first page_count_, which must still be there.
  if (pages.Length() < page_count_) throw_range(env, "Expected the state pages to keep their first " + std::to_string(page_count_) + " pages while a stream call runs");
  // Every element is read before any pointer into a page is taken: an accessor on the array
  // could otherwise detach a page already pointed into.
  std::vector<Napi::Float32Array> out;
  out.reserve(page_count_);
  for (uint32_t i = 0; i < page_count_; ++i) {
    Napi::Value page = pages.Get(i);
    if (!page.IsTypedArray() || page.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw_type(env, "Expected each state page to be a Float32Array");
    out.push_back(page.As<Napi::Float32Array>());
  }
  for (const Napi::Float32Array& page : out)
    if (page.ElementLength() != page_length_ || page.Data() == nullptr)
      throw_range(env, "Expected every state page to hold " + std::to_string(page_length_) + " floats");
  return out;
}

StatePages::StatePages(const Napi::Value& pages, const Napi::Value& slots, size_t rows, size_t width,
                       std::vector<float>& out)
    : width_(width) {
  Napi::Env env = pages.Env();
  if (!pages.IsArray()) throw_type(env, "Expected statePages to be an Array of Float32Arrays");
  Napi::Array array = pages.As<Napi::Array>();
  if (array.Length() < 1 || array.Length() > kMaxPages) throw_range(env, "Expected 1 to 1048576 state pages");
  page_count_ = array.Length();
  Napi::Value first = array.Get(uint32_t(0));
  if (!first.IsTypedArray() || first.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(env, "Expected each state page to be a Float32Array");
  page_length_ = first.As<Napi::Float32Array>().ElementLength();
  if (width_ == 0 || page_length_ == 0 || page_length_ % width_ != 0)
    throw_range(env, "Expected each state page to hold a whole number of rows of " + std::to_string(width_) + " floats");
  rows_per_page_ = page_length_ / width_;
  pages_ = Napi::Persistent(array);
  slots_ = read_int32_array(slots, "slots", rows);
  const std::vector<Napi::Float32Array> views = read_pages(env);
  const int64_t total = int64_t(page_count_) * int64_t(rows_per_page_);
  out.resize(rows * width_);
  for (size_t i = 0; i < rows; ++i) {
    const int32_t slot = slots_[i];
    if (slot < 0 || slot >= total) throw_range(env, "Expected slots[" + std::to_string(i) + "] in [0, " + std::to_string(total) + ")");
    const float* row = views[size_t(slot) / rows_per_page_].Data() + (size_t(slot) % rows_per_page_) * width_;
    std::memcpy(out.data() + i * width_, row, width_ * sizeof(float));
  }
}

void StatePages::write_back(Napi::Env env, const std::vector<float>& rows) {
  std::vector<Napi::Float32Array> views = read_pages(env);
  for (size_t i = 0; i < slots_.size(); ++i) {
    const size_t slot = size_t(slots_[i]);
    float* row = views[slot / rows_per_page_].Data() + (slot % rows_per_page_) * width_;
    std::memcpy(row, rows.data() + i * width_, width_ * sizeof(float));
  }
}

}  // namespace rnn_binding
