#include "db/params.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace myriad::db {

Params& Params::Add(std::string_view value) {
  if (bad_index_ < 0 && value.find('\0') != std::string_view::npos) bad_index_ = size();
  starts_.push_back(buffer_.size());
  buffer_.append(value);
  buffer_.push_back('\0');
  nulls_.push_back(false);
  return *this;
}

Params& Params::Add(bool value) { return Add(std::string_view(value ? "t" : "f")); }

Params& Params::Add(std::int64_t value) {
  std::array<char, std::numeric_limits<std::int64_t>::digits10 + 3> digits{};
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  (void)ec;  // the buffer fits every int64
  return Add(std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
}

Params& Params::AddNull() {
  starts_.push_back(buffer_.size());
  nulls_.push_back(true);
  return *this;
}

std::string_view Params::text(int index) const {
  auto i = static_cast<std::size_t>(index);
  if (nulls_.at(i)) return {};
  std::size_t end = (i + 1 < starts_.size() ? starts_[i + 1] : buffer_.size()) - 1;
  return std::string_view(buffer_).substr(starts_[i], end - starts_[i]);
}

std::vector<const char*> Params::Values() const {
  std::vector<const char*> values(nulls_.size(), nullptr);
  for (std::size_t i = 0; i < nulls_.size(); ++i) {
    if (!nulls_[i]) values[i] = buffer_.data() + starts_[i];
  }
  return values;
}

}  // namespace myriad::db
