#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace myriad::db {

/// Query parameters ($1, $2, ...) in text format, each a value or SQL NULL. Values are
/// copied in, so a Params may outlive what it was built from. The server parses each
/// value into the parameter's type, so SQL text in a value is only ever data.
///
///   Params p;
///   p.Add(email).Add(std::int64_t{42}).Add(std::optional<std::string_view>{}).Add(true);
///
/// A string holding a NUL byte cannot be sent as text: Add() records that and the query
/// fails with DbErrorKind::kBadParameter (bad_index() names the parameter) instead of
/// sending a truncated value.
class Params {
 public:
  Params() = default;

  Params& Add(std::string_view value);
  Params& Add(const char* value) { return Add(std::string_view(value)); }
  Params& Add(const std::string& value) { return Add(std::string_view(value)); }
  Params& Add(bool value);
  Params& Add(std::int64_t value);
  Params& Add(std::int32_t value) { return Add(static_cast<std::int64_t>(value)); }
  Params& Add(std::nullopt_t /*null*/) { return AddNull(); }
  template <class T>
  Params& Add(const std::optional<T>& value) {
    return value.has_value() ? Add(*value) : AddNull();
  }
  Params& AddNull();

  /// Builds a Params from its arguments in order: Params::Of("a", std::int64_t{1}).
  template <class... Args>
  static Params Of(const Args&... args) {
    Params p;
    (p.Add(args), ...);
    return p;
  }

  int size() const { return static_cast<int>(nulls_.size()); }
  bool empty() const { return nulls_.empty(); }
  bool is_null(int index) const { return nulls_.at(static_cast<std::size_t>(index)); }
  /// The text of a parameter ("" for NULL).
  std::string_view text(int index) const;
  /// -1 when every parameter can be sent, else the 0-based index of the first that cannot.
  int bad_index() const { return bad_index_; }

  /// Pointers for PQsendQueryParams/PQsendQueryPrepared: one per parameter, nullptr for
  /// NULL. Valid until the Params is next modified or destroyed.
  std::vector<const char*> Values() const;

 private:
  std::string buffer_;               // every value, each followed by a NUL
  std::vector<std::size_t> starts_;  // offset of each value in buffer_
  std::vector<bool> nulls_;
  int bad_index_ = -1;
};

}  // namespace myriad::db
