#include "loadgen/template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace myriad::load {
namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
// Error messages quote at most this much of a template or placeholder.
constexpr std::size_t kQuoteLimit = 60;

bool IsSpace(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

std::vector<std::string_view> SplitWords(std::string_view inner) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < inner.size()) {
    while (pos < inner.size() && IsSpace(inner[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < inner.size() && !IsSpace(inner[pos])) ++pos;
    if (pos > start) words.push_back(inner.substr(start, pos - start));
  }
  return words;
}

std::string Quote(std::string_view text) {
  if (text.size() <= kQuoteLimit) return fmt::format("\"{}\"", text);
  return fmt::format("\"{}...\"", text.substr(0, kQuoteLimit));
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (name.empty()) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out.empty() ? "none" : out;
}

// Index of `name` in `names`, or npos.
std::size_t Find(const std::vector<std::string>& names, std::string_view name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? std::string_view::npos : static_cast<std::size_t>(it - names.begin());
}

void AppendNumber(std::string& out, std::int64_t value) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), result.ptr);
}

bool ParseInt(std::string_view text, std::int64_t& value) {
  const char* first = text.data();
  const char* last = first + text.size();
  // from_chars takes no '+'; a leading '+' is accepted here as it reads naturally.
  if (first != last && *first == '+') ++first;
  const auto result = std::from_chars(first, last, value);
  return result.ec == std::errc() && result.ptr == last && first != last;
}

// Checks {{random LOW HIGH}}'s words; returns why they are wrong, or "".
std::string ParseRandom(const std::vector<std::string_view>& words, std::int64_t& low,
                        std::int64_t& high) {
  if (words.size() != 3) return "random takes two integers (random LOW HIGH)";
  if (!ParseInt(words[1], low) || !ParseInt(words[2], high)) {
    return "random takes two 64-bit integers (random LOW HIGH)";
  }
  if (low > high) {
    return fmt::format("random's low bound {} is above its high bound {}", low, high);
  }
  return {};
}

// " (variables: a, b; lists: c)" after an unknown name, with a hint when it names a list.
std::string KnownNames(const TemplateNames& names, std::string_view unknown) {
  const std::string hint =
      Find(names.lists, unknown) != std::string_view::npos
          ? fmt::format("; use {{{{item {0}}}}} or {{{{next {0}}}}} for a list", unknown)
          : std::string();
  return fmt::format(" (variables: {}; lists: {}{})", JoinNames(names.variables),
                     JoinNames(names.lists), hint);
}

// Walks `text`, calling on_literal(chunk) and on_placeholder(inner, whole) in order. Returns
// the offset of an unclosed "{{", or npos.
template <class OnLiteral, class OnPlaceholder>
std::size_t Scan(std::string_view text, OnLiteral on_literal, OnPlaceholder on_placeholder) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) {
      on_literal(text.substr(pos));
      return std::string_view::npos;
    }
    if (open > pos) on_literal(text.substr(pos, open - pos));
    const std::size_t close = text.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) return open;
    const std::string_view inner = text.substr(open + kOpen.size(), close - open - kOpen.size());
    const std::string_view whole = text.substr(open, close + kClose.size() - open);
    if (!on_placeholder(inner, whole)) return std::string_view::npos;
    pos = close + kClose.size();
  }
  return std::string_view::npos;
}

}  // namespace

core::Result<Template, std::string> Template::Parse(std::string_view text,
                                                    const TemplateNames& names) {
  Template result;
  std::string error;
  const auto add_literal = [&](std::string_view chunk) {
    if (!result.segments_.empty() && result.segments_.back().kind == Kind::kLiteral) {
      result.segments_.back().text.append(chunk);
      return;
    }
    Segment segment;
    segment.text = std::string(chunk);
    result.segments_.push_back(std::move(segment));
  };
  const auto add_placeholder = [&](std::string_view inner, std::string_view whole) {
    const std::vector<std::string_view> words = SplitWords(inner);
    // `note` follows the quoted placeholder: unknown name "x" in "{{x}}" (variables: ...).
    const auto fail = [&](std::string_view why, std::string_view note = {}) {
      error = fmt::format("{} in {}{}", why, Quote(whole), note);
      return false;
    };
    if (words.empty()) return fail("empty placeholder");
    const std::string_view head = words[0];
    const std::size_t args = words.size() - 1;
    Segment segment;
    if (head == "random") {
      segment.kind = Kind::kRandom;
      if (std::string why = ParseRandom(words, segment.low, segment.high); !why.empty()) {
        return fail(why);
      }
    } else if (head == "pick") {
      segment.kind = Kind::kPick;
      if (args == 0) return fail("pick takes one or more words (pick red green blue)");
      segment.words.assign(words.begin() + 1, words.end());
    } else if (head == "counter") {
      segment.kind = Kind::kCounter;
      if (args > 1) return fail("counter takes at most one name (counter or counter NAME)");
      const std::string_view name = args == 0 ? std::string_view() : words[1];
      segment.index = Find(names.counters, name);
      if (segment.index == std::string_view::npos) {
        return fail(fmt::format("unknown counter \"{}\"", name));
      }
    } else if (head == "user") {
      segment.kind = Kind::kUser;
      if (args != 0) return fail("user takes no arguments");
    } else if (head == "item" || head == "next") {
      segment.kind = head == "item" ? Kind::kItem : Kind::kNext;
      if (args != 1) {
        return fail(fmt::format("{} takes the name of a list", head),
                    fmt::format(" (lists: {})", JoinNames(names.lists)));
      }
      segment.index = Find(names.lists, words[1]);
      if (segment.index == std::string_view::npos) {
        return fail(fmt::format("unknown list \"{}\"", words[1]),
                    fmt::format(" (lists: {})", JoinNames(names.lists)));
      }
      segment.cursor = names.counters.size() + segment.index;
    } else {
      segment.kind = Kind::kVariable;
      segment.index = Find(names.variables, head);
      if (segment.index == std::string_view::npos) {
        return fail(fmt::format("unknown name \"{}\"", head), KnownNames(names, head));
      }
      if (args != 0) {
        return fail(fmt::format(
            "unknown function \"{}\" (use random, pick, counter, user, item or next)", head));
      }
    }
    result.segments_.push_back(std::move(segment));
    return true;
  };
  const std::size_t unclosed = Scan(text, add_literal, add_placeholder);
  if (!error.empty()) return core::Unexpected{std::move(error)};
  if (unclosed != std::string_view::npos) {
    return core::Unexpected{fmt::format("unclosed \"{{{{\" in {}", Quote(text.substr(unclosed)))};
  }
  return result;
}

Template Template::Literal(std::string text) {
  Template result;
  if (!text.empty()) {
    Segment segment;
    segment.text = std::move(text);
    result.segments_.push_back(std::move(segment));
  }
  return result;
}

std::vector<std::string> Template::CounterNames(std::string_view text) {
  std::vector<std::string> found;
  (void)Scan(
      text, [](std::string_view) {},
      [&](std::string_view inner, std::string_view) {
        const std::vector<std::string_view> words = SplitWords(inner);
        if (!words.empty() && words[0] == "counter" && words.size() <= 2) {
          found.emplace_back(words.size() == 2 ? words[1] : std::string_view());
        }
        return true;
      });
  return found;
}

const std::string& Template::LiteralText() const {
  static const std::string kEmpty;
  return IsLiteral() && !segments_.empty() ? segments_[0].text : kEmpty;
}

void Template::Render(RenderContext& context, std::string& out) const {
  for (const Segment& segment : segments_) {
    switch (segment.kind) {
      case Kind::kLiteral:
        out += segment.text;
        break;
      case Kind::kRandom:
        AppendNumber(out, std::uniform_int_distribution<std::int64_t>(segment.low,
                                                                      segment.high)(*context.rng));
        break;
      case Kind::kPick:
        out += segment.words[std::uniform_int_distribution<std::size_t>(
            0, segment.words.size() - 1)(*context.rng)];
        break;
      case Kind::kCounter:
        AppendNumber(
            out,
            context.shared->counters[segment.index].fetch_add(1, std::memory_order_relaxed) + 1);
        break;
      case Kind::kUser:
        AppendNumber(out, context.user);
        break;
      case Kind::kItem: {
        const std::vector<std::string>& list = context.shared->lists[segment.index];
        if (!list.empty()) {
          out += list[std::uniform_int_distribution<std::size_t>(0, list.size() - 1)(*context.rng)];
        }
        break;
      }
      case Kind::kNext: {
        const std::vector<std::string>& list = context.shared->lists[segment.index];
        const auto n = static_cast<std::uint64_t>(
            context.shared->counters[segment.cursor].fetch_add(1, std::memory_order_relaxed));
        if (!list.empty()) out += list[n % list.size()];
        break;
      }
      case Kind::kVariable:
        out += (*context.variables)[segment.index];
        break;
    }
  }
}

}  // namespace myriad::load
