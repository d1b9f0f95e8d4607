// Errors thrown to JavaScript: the class is chosen deliberately (TypeError for a wrong
// type, RangeError for a wrong size or value, Error otherwise) and every error carries a
// stable `code` that src/util/errors.ts maps onto the library's error classes.
#pragma once

#include <napi.h>

#include <string>

namespace rnn_binding {

enum class ErrorKind { kType, kRange, kPlain };

constexpr const char* kInvalidArgument = "ERR_INVALID_ARG_TYPE";  // the codes src/util/errors.ts uses too
constexpr const char* kOutOfRange = "ERR_OUT_OF_RANGE";
constexpr const char* kBusy = "ERR_RNN_BUSY";
constexpr const char* kDisposed = "ERR_RNN_DISPOSED";
constexpr const char* kNative = "ERR_RNN_NATIVE";

inline Napi::Error make_error(Napi::Env env, ErrorKind kind, const char* code,
                              const std::string& message) {
  Napi::Error error = kind == ErrorKind::kType    ? Napi::TypeError::New(env, message)
                      : kind == ErrorKind::kRange ? Napi::RangeError::New(env, message)
                                                  : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& message) {
  throw make_error(env, ErrorKind::kType, kInvalidArgument, message);
}

[[noreturn]] inline void throw_range(Napi::Env env, const std::string& message) {
  throw make_error(env, ErrorKind::kRange, kOutOfRange, message);
}

}  // namespace rnn_binding
