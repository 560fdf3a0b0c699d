#include "http/router.hpp"

#include <stdexcept>

#include "http/request.hpp"

namespace myriad::http {

struct Router::Node {
  struct Child {
    std::string literal;
    std::unique_ptr<Node> node;
  };
  std::vector<Child> literals;
  std::unique_ptr<Node> param;
  std::string param_name;
  // Per method: slot + 1 (0 = none).
  std::array<std::size_t, kMethodCount> slots{};
  std::size_t route = 0;
  bool terminal = false;
};

namespace {

constexpr std::size_t kMaxParams = 8;

// Splits "/a/b/c" into segments; returns false unless the path starts with '/'.
// An empty segment ("//", trailing '/') is kept so that it never matches a pattern.
template <typename Fn>
bool ForEachSegment(std::string_view path, Fn&& fn) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    if (!fn(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

std::string AllowList(const std::array<std::size_t, kMethodCount>& slots) {
  std::string allow;
  auto add = [&](std::string_view m) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  };
  for (std::size_t i = 0; i < kMethodCount; ++i) {
    auto method = static_cast<Method>(i);
    if (slots[i] == 0 || method == Method::kOther) continue;
    add(ToString(method));
    if (method == Method::kGet && slots[static_cast<std::size_t>(Method::kHead)] == 0) add("HEAD");
  }
  if (slots[static_cast<std::size_t>(Method::kOptions)] == 0) add("OPTIONS");
  return allow;
}

struct Captured {
  std::string_view name;
  std::string_view value;
};

const Router::Node* Walk(const Router::Node* node, std::string_view path,
                         std::array<Captured, kMaxParams>& params, std::size_t& count) {
  if (path.empty()) return node->terminal ? node : nullptr;
  // path here is "segment[/rest]" (leading slash already removed) or "" for the root.
  auto slash = path.find('/');
  std::string_view segment = path.substr(0, slash);
  std::string_view rest =
      slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  bool last = slash == std::string_view::npos;

  auto descend = [&](const Router::Node* child) -> const Router::Node* {
    if (last) return child->terminal ? child : nullptr;
    if (rest.empty()) return nullptr;  // trailing slash: "/a/" never matches "/a"
    return Walk(child, rest, params, count);
  };

  for (const auto& child : node->literals) {
    if (child.literal == segment) {
      if (const auto* found = descend(child.node.get())) return found;
      break;
    }
  }
  if (node->param && !segment.empty() && count < kMaxParams) {
    std::size_t saved = count;
    params[count++] = {node->param_name, segment};
    if (const auto* found = descend(node->param.get())) return found;
    count = saved;
  }
  return nullptr;
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

std::size_t Router::Add(Method method, std::string_view pattern) {
  if (method == Method::kOther) throw std::invalid_argument("router: unsupported method");
  Node* node = root_.get();
  std::size_t params = 0;
  bool ok = ForEachSegment(pattern, [&](std::string_view segment) {
    if (segment.empty()) return pattern == "/";
    if (segment.front() == '{') {
      if (segment.size() < 3 || segment.back() != '}') return false;
      std::string name(segment.substr(1, segment.size() - 2));
      if (++params > kMaxParams) return false;
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = name;
      } else if (node->param_name != name) {
        return false;  // "/a/{id}" and "/a/{name}" would bind differently.
      }
      node = node->param.get();
      return true;
    }
    if (segment.find_first_of("{}") != std::string_view::npos) return false;
    for (auto& child : node->literals) {
      if (child.literal == segment) {
        node = child.node.get();
        return true;
      }
    }
    node->literals.push_back({std::string(segment), std::make_unique<Node>()});
    node = node->literals.back().node.get();
    return true;
  });
  if (!ok) throw std::invalid_argument("router: bad pattern '" + std::string(pattern) + "'");

  if (!node->terminal) {
    node->terminal = true;
    node->route = templates_.size();
    templates_.emplace_back(pattern);
  }
  auto& slot = node->slots[static_cast<std::size_t>(method)];
  if (slot != 0) {
    throw std::invalid_argument("router: duplicate route " + std::string(ToString(method)) + " " +
                                std::string(pattern));
  }
  slot = ++slots_;
  return slot - 1;
}

Router::Match Router::Find(Method method, std::string_view path, Request* request) const {
  Match match;
  if (path.empty() || path.front() != '/') return match;

  std::array<Captured, kMaxParams> params{};
  std::size_t count = 0;
  const Node* node = path == "/" ? (root_->terminal ? root_.get() : nullptr)
                                 : Walk(root_.get(), path.substr(1), params, count);
  if (node == nullptr) return match;

  match.route = node->route;
  std::size_t slot = node->slots[static_cast<std::size_t>(method)];
  if (slot == 0 && method == Method::kHead)
    slot = node->slots[static_cast<std::size_t>(Method::kGet)];
  if (slot == 0) {
    match.outcome = Outcome::kMethodNotAllowed;
    match.allow = AllowList(node->slots);
    return match;
  }
  // Decode every value before binding any: the captured views may point into the
  // request's own storage, which binding appends to (and may move).
  std::array<std::string, kMaxParams> decoded;
  for (std::size_t i = 0; i < count; ++i) {
    if (!PercentDecode(params[i].value, decoded[i])) {
      // A malformed escape cannot name any resource.
      match.outcome = Outcome::kNotFound;
      return match;
    }
  }
  if (request != nullptr) {
    request->ClearParams();
    for (std::size_t i = 0; i < count; ++i) {
      request->AddParam(params[i].name, decoded[i]);
    }
  }
  match.outcome = Outcome::kFound;
  match.slot = slot - 1;
  return match;
}

std::string Router::AllowedMethods(std::string_view path) const {
  if (path.empty() || path.front() != '/') return {};
  std::array<Captured, kMaxParams> params{};
  std::size_t count = 0;
  const Node* node = path == "/" ? (root_->terminal ? root_.get() : nullptr)
                                 : Walk(root_.get(), path.substr(1), params, count);
  if (node == nullptr) return {};
  std::string decoded;
  for (std::size_t i = 0; i < count; ++i) {
    if (!PercentDecode(params[i].value, decoded)) return {};  // as in Find: no such resource
  }
  return AllowList(node->slots);
}

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex(in[i + 1]);
    int lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return false;
    out.push_back(c);
    i += 2;
  }
  return true;
}

}  // namespace myriad::http
