#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/method.hpp"

namespace myriad::http {

/// One parsed HTTP request. It owns copies of the bytes it refers to, so it stays valid
/// while the connection's read buffer moves on. Header lookup is case-insensitive.
class Request {
 public:
  Method method() const { return method_; }
  std::string_view method_text() const { return Slice(method_text_); }
  /// The request-target as sent ("/api/users?limit=5").
  std::string_view target() const { return Slice(target_); }
  /// The target up to '?' (not percent-decoded).
  std::string_view path() const;
  /// The target after '?', empty when there is none.
  std::string_view query() const;
  /// 10 for HTTP/1.0, 11 for HTTP/1.1.
  unsigned version() const { return version_; }
  bool keep_alive() const { return keep_alive_; }
  std::string_view body() const { return body_; }

  /// The first header with this name (any case), or an empty view.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  std::size_t header_count() const { return fields_.size(); }

  /// Set by the server before the handler runs.
  std::string_view request_id() const { return request_id_; }
  std::string_view peer() const { return peer_; }
  /// The io thread (Server worker index) handling the request; selects per-thread state.
  std::size_t worker() const { return worker_; }
  /// When the request runs out of time (--request-timeout after it was dispatched):
  /// database and cache calls use it as their deadline.
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  /// A path parameter bound by the router ("{id}"), percent-decoded; empty when absent.
  std::string_view Param(std::string_view name) const;

  // Building (parser, router, server and tests).
  void Clear();
  void SetMethod(Method method, std::string_view text);
  void SetTarget(std::string_view target);
  void SetVersion(unsigned version) { version_ = version; }
  void SetKeepAlive(bool keep_alive) { keep_alive_ = keep_alive; }
  void AddHeader(std::string_view name, std::string_view value);
  void AppendBody(std::string_view data) { body_.append(data); }
  void SetRequestId(std::string_view id) { request_id_.assign(id); }
  void SetPeer(std::string_view peer) { peer_.assign(peer); }
  void SetWorker(std::size_t worker) { worker_ = worker; }
  void SetDeadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }
  void ClearParams() { params_.clear(); }
  void AddParam(std::string_view name, std::string_view value);
  /// Capacity held while idle; lets a connection give back memory after a large request.
  std::size_t capacity() const { return storage_.capacity() + body_.capacity(); }
  void ShrinkToFit();

 private:
  // Offsets into storage_, so appending never invalidates what was stored before.
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  struct Field {
    Span name;
    Span value;
  };
  struct ParamEntry {
    Span name;
    Span value;
  };

  Span Store(std::string_view text);
  std::string_view Slice(Span span) const { return {storage_.data() + span.offset, span.size}; }

  Method method_ = Method::kGet;
  Span method_text_;
  Span target_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  std::string storage_;
  std::vector<Field> fields_;
  std::vector<ParamEntry> params_;
  std::string body_;
  std::string request_id_;
  std::string peer_;
  std::size_t worker_ = 0;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace myriad::http
