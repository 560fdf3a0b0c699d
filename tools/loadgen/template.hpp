#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace myriad::load {

/// Names a template may use, resolved to indices once when the scenario is parsed.
struct TemplateNames {
  /// Per-user variables: the scenario's "vars" and every capture's name. A template naming
  /// one renders its current value for this user.
  std::vector<std::string> variables;
  /// Named lists of values ("lists" in the scenario: inline or from a file).
  std::vector<std::string> lists;
  /// Named counters; the unnamed {{counter}} is index 0, named "" here.
  std::vector<std::string> counters;
};

/// What all users share while rendering: list contents and counters. Thread-safe.
struct TemplateShared {
  std::vector<std::vector<std::string>> lists;  // indexed like TemplateNames::lists
  /// One per TemplateNames::counters entry, then one cursor per list for {{next L}}.
  // NOLINTNEXTLINE(modernize-avoid-c-arrays): atomics cannot live in a resizable vector.
  std::unique_ptr<std::atomic<std::int64_t>[]> counters;
  std::size_t counter_count = 0;
};

/// One user's rendering state. Not thread-safe: one per virtual user or connection.
struct RenderContext {
  std::mt19937_64* rng = nullptr;
  TemplateShared* shared = nullptr;
  std::int64_t user = 0;                          // the virtual user's number, from 1
  std::vector<std::string>* variables = nullptr;  // indexed like TemplateNames::variables
};

/// A string with {{...}} placeholders, parsed once and rendered per request:
///   {{random 1 1000000}}   a uniform random integer in [1, 1000000]
///   {{pick red green blue}} one of the words, uniformly
///   {{counter}} {{counter orders}}  1, 2, 3, ... shared by all users (named: separate)
///   {{user}}               the virtual user's number (1..users)
///   {{item emails}}        a random item of the list "emails"
///   {{next emails}}        the list's items in order, shared by all users, wrapping around
///   {{token}}              the variable "token": a scenario var or a captured value
/// Whitespace inside the braces is free. Anything else inside {{ }} (unknown name or
/// function, bad arguments, an unclosed {{) is a parse error naming it.
class Template {
 public:
  static core::Result<Template, std::string> Parse(std::string_view text,
                                                   const TemplateNames& names);
  /// A template that renders `text` as it is.
  static Template Literal(std::string text);
  /// The counter names that `text`'s well-formed {{counter ...}} placeholders use ("" for the
  /// unnamed one), in order of appearance, with repeats: lets a caller build
  /// TemplateNames::counters before parsing. Malformed placeholders are skipped (Parse
  /// reports them).
  static std::vector<std::string> CounterNames(std::string_view text);

  /// Appends the rendering to `out`.
  void Render(RenderContext& context, std::string& out) const;
  bool IsLiteral() const {
    return segments_.size() <= 1 && (segments_.empty() || segments_[0].kind == Kind::kLiteral);
  }
  /// The text of a literal template ("" otherwise).
  const std::string& LiteralText() const;

 private:
  enum class Kind : std::uint8_t {
    kLiteral,
    kRandom,
    kPick,
    kCounter,
    kUser,
    kItem,
    kNext,
    kVariable
  };
  struct Segment {
    Kind kind = Kind::kLiteral;
    std::string text;                // kLiteral
    std::int64_t low = 0, high = 0;  // kRandom
    std::vector<std::string> words;  // kPick
    std::size_t index = 0;           // kCounter, kItem, kNext, kVariable
    std::size_t cursor = 0;          // kNext: the list's cursor in TemplateShared::counters
  };
  std::vector<Segment> segments_;
};

}  // namespace myriad::load
