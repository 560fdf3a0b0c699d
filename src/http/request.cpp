#include "http/request.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace myriad::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view Request::path() const {
  std::string_view t = target();
  // Absolute-form ("http://host/a?b", RFC 9112 3.2.2) names the same resource as "/a?b".
  if (!t.empty() && t.front() != '/') {
    auto scheme_end = t.find("://");
    if (scheme_end != std::string_view::npos) {
      auto slash = t.find_first_of("/?", scheme_end + 3);
      if (slash == std::string_view::npos || t[slash] == '?') return "/";
      t.remove_prefix(slash);
    }
  }
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  std::string_view t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::string_view Request::Header(std::string_view name) const {
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(Slice(f.name), name)) return Slice(f.value);
  }
  return {};
}

bool Request::HasHeader(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const Field& f) { return EqualsIgnoreCase(Slice(f.name), name); });
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& p : params_) {
    if (Slice(p.name) == name) return Slice(p.value);
  }
  return {};
}

void Request::Clear() {
  method_ = Method::kGet;
  method_text_ = {};
  target_ = {};
  version_ = 11;
  keep_alive_ = true;
  storage_.clear();
  fields_.clear();
  params_.clear();
  body_.clear();
  request_id_.clear();
}

void Request::ShrinkToFit() {
  // Keeps small buffers (the common case) so steady keep-alive traffic never reallocates.
  constexpr std::size_t kKeep = 1024;
  if (storage_.capacity() > kKeep) std::string().swap(storage_);
  if (body_.capacity() > kKeep) std::string().swap(body_);
}

Request::Span Request::Store(std::string_view text) {
  // The parser bounds a request's head far below 4 GiB; anything else is a bug.
  assert(storage_.size() + text.size() < std::numeric_limits<std::uint32_t>::max());
  Span span{static_cast<std::uint32_t>(storage_.size()), static_cast<std::uint32_t>(text.size())};
  storage_.append(text);
  return span;
}

void Request::SetMethod(Method method, std::string_view text) {
  method_ = method;
  method_text_ = Store(text);
}

void Request::SetTarget(std::string_view target) { target_ = Store(target); }

void Request::AddHeader(std::string_view name, std::string_view value) {
  Span n = Store(name);
  Span v = Store(value);
  fields_.push_back({n, v});
}

void Request::AddParam(std::string_view name, std::string_view value) {
  Span n = Store(name);
  Span v = Store(value);
  params_.push_back({n, v});
}

}  // namespace myriad::http
