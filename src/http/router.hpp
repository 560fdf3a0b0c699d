#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/method.hpp"

namespace myriad::http {

class Request;

/// Maps method + path to a handler slot. Patterns are absolute paths whose segments are
/// literals or `{name}` parameters ("/api/users/{id}"); a literal segment wins over a
/// parameter at the same depth. Built once at start-up, then read-only and safe to share
/// between io threads.
class Router {
 public:
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };

  struct Match {
    Outcome outcome = Outcome::kNotFound;
    /// Index into Templates(), for kFound and kMethodNotAllowed.
    std::size_t route = 0;
    /// The slot Add() returned, for kFound.
    std::size_t slot = 0;
    /// "GET, HEAD, POST": the Allow header value, for kMethodNotAllowed (and OPTIONS).
    std::string allow;
  };

  Router();
  ~Router();
  Router(Router&& other) noexcept;
  Router& operator=(Router&& other) noexcept;

  /// Registers a handler slot for method + pattern and returns its slot number (slots are
  /// numbered 0, 1, 2... in registration order). Throws std::invalid_argument for a
  /// malformed pattern or a duplicate method + pattern: a start-up error.
  std::size_t Add(Method method, std::string_view pattern);

  /// Matches a path (no query). HEAD falls back to GET. On kFound binds the parameters
  /// into `request` (percent-decoded) when it is given.
  Match Find(Method method, std::string_view path, Request* request = nullptr) const;

  /// Every method routed at `path` as an Allow header value ("GET, HEAD, OPTIONS": HEAD
  /// wherever GET is, OPTIONS always), or "" when no route matches the path as Find()
  /// would match it. For CORS preflights, which ask about a path rather than a method.
  std::string AllowedMethods(std::string_view path) const;

  /// Route templates by route index, for metrics and logs.
  const std::vector<std::string>& Templates() const { return templates_; }

  /// The trie node type; defined in router.cpp.
  struct Node;

 private:
  std::unique_ptr<Node> root_;
  std::vector<std::string> templates_;
  std::size_t slots_ = 0;
};

/// Decodes %XX escapes; returns false on a malformed escape or a decoded NUL.
bool PercentDecode(std::string_view in, std::string& out);

}  // namespace myriad::http
