#pragma once
// Errors that can really happen are values: Result<T> holds either a T or an
// Error with a message a person can act on and, for bad input, the offending
// field.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace barid::core {

enum class ErrorKind {
  invalid,      // bad input: 422 (or 400), names the field
  not_found,    // 404
  conflict,     // the request conflicts with the resource's state: 409
  unavailable,  // a dependency (database, provider) is down: 503
  quota,        // the tenant's quota is reached: 429 with Retry-After
  spend_cap,    // the tenant's monthly spend cap is reached: 402
  internal,     // a bug or an unexpected failure: 500
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  std::string field;  // JSON pointer-ish path of the offending field, e.g. "to"
  int retry_after_s = 0;  // quota, spend_cap: when trying again can succeed

  static Error invalid(std::string field, std::string message) {
    return {ErrorKind::invalid, std::move(message), std::move(field)};
  }
  static Error not_found(std::string message) { return {ErrorKind::not_found, std::move(message), {}}; }
  static Error conflict(std::string message) { return {ErrorKind::conflict, std::move(message), {}}; }
  static Error unavailable(std::string message) {
    return {ErrorKind::unavailable, std::move(message), {}};
  }
  static Error internal(std::string message) { return {ErrorKind::internal, std::move(message), {}}; }
  static Error quota(std::string message, int retry_after_s) {
    return {ErrorKind::quota, std::move(message), {}, retry_after_s};
  }
  static Error spend_cap(std::string message, int retry_after_s) {
    return {ErrorKind::spend_cap, std::move(message), {}, retry_after_s};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace barid::core
