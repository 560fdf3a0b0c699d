#include "loadgen/template.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace myriad::load {
namespace {

// Names and shared state as a scenario would build them: variables token and password, lists
// emails and colours, counters "" and orders.
class TemplateTest : public ::testing::Test {
 protected:
  TemplateTest() {
    names_.variables = {"token", "password"};
    names_.lists = {"emails", "colours"};
    names_.counters = {"", "orders"};
    shared_.lists = {{"a@x", "b@x", "c@x"}, {"red"}};
    shared_.counter_count = names_.counters.size() + names_.lists.size();
    // NOLINTNEXTLINE(modernize-avoid-c-arrays): TemplateShared's type.
    shared_.counters = std::make_unique<std::atomic<std::int64_t>[]>(shared_.counter_count);
    variables_ = {"tok-1", "secret"};
    context_ = MakeContext(7);
  }

  RenderContext MakeContext(std::int64_t user) {
    RenderContext context;
    context.rng = &rng_;
    context.shared = &shared_;
    context.user = user;
    context.variables = &variables_;
    return context;
  }

  Template Parse(std::string_view text) {
    auto parsed = Template::Parse(text, names_);
    EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error());
    return parsed ? std::move(*parsed) : Template();
  }

  std::string Render(const Template& t) {
    std::string out;
    t.Render(context_, out);
    return out;
  }

  std::string Error(std::string_view text) {
    auto parsed = Template::Parse(text, names_);
    if (parsed) {
      ADD_FAILURE() << "expected an error for " << text;
      return "";
    }
    return parsed.error();
  }

  TemplateNames names_;
  TemplateShared shared_;
  std::vector<std::string> variables_;
  std::mt19937_64 rng_{42};
  RenderContext context_;
};

TEST_F(TemplateTest, LiteralTextRendersAsIs) {
  const Template t = Parse("/api/users/me?x=1 }} {");
  EXPECT_TRUE(t.IsLiteral());
  EXPECT_EQ(t.LiteralText(), "/api/users/me?x=1 }} {");
  EXPECT_EQ(Render(t), "/api/users/me?x=1 }} {");
  EXPECT_TRUE(Parse("").IsLiteral());
  EXPECT_EQ(Render(Parse("")), "");
  const Template literal = Template::Literal("{{not a placeholder}}");
  EXPECT_TRUE(literal.IsLiteral());
  EXPECT_EQ(Render(literal), "{{not a placeholder}}");
}

TEST_F(TemplateTest, RenderAppends) {
  std::string out = "prefix:";
  Parse("{{token}}").Render(context_, out);
  EXPECT_EQ(out, "prefix:tok-1");
}

TEST_F(TemplateTest, Variables) {
  const Template t = Parse("Bearer {{token}} / {{ password }}");
  EXPECT_FALSE(t.IsLiteral());
  EXPECT_EQ(t.LiteralText(), "");
  EXPECT_EQ(Render(t), "Bearer tok-1 / secret");
  variables_[0] = "tok-2";
  EXPECT_EQ(Render(t), "Bearer tok-2 / secret");
}

TEST_F(TemplateTest, RandomStaysInRangeAndCoversIt) {
  const Template t = Parse("{{random 1 5}}");
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) seen.insert(Render(t));
  EXPECT_EQ(seen, (std::set<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(Render(Parse("{{random 7 7}}")), "7");
  EXPECT_EQ(Render(Parse("{{random -3 -3}}")), "-3");
  const std::string big = Render(Parse("{{random 9223372036854775806 9223372036854775807}}"));
  EXPECT_TRUE(big == "9223372036854775806" || big == "9223372036854775807") << big;
  const std::string any = Render(Parse("{{random -9223372036854775808 9223372036854775807}}"));
  EXPECT_FALSE(any.empty());
}

TEST_F(TemplateTest, PickChoosesAmongWords) {
  const Template t = Parse("{{pick smith jones garcia}}");
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) seen.insert(Render(t));
  EXPECT_EQ(seen, (std::set<std::string>{"smith", "jones", "garcia"}));
  EXPECT_EQ(Render(Parse("{{pick only}}")), "only");
}

TEST_F(TemplateTest, CountersStartAtOneAndAreShared) {
  const Template unnamed = Parse("{{counter}}");
  const Template again = Parse("n={{ counter }}");
  const Template orders = Parse("{{counter orders}}");
  EXPECT_EQ(Render(unnamed), "1");
  EXPECT_EQ(Render(again), "n=2");
  EXPECT_EQ(Render(orders), "1");  // a named counter is separate
  RenderContext other = MakeContext(8);
  std::string out;
  unnamed.Render(other, out);
  EXPECT_EQ(out, "3");  // shared across users
  EXPECT_EQ(Render(orders), "2");
}

TEST_F(TemplateTest, CountersAreAtomicAcrossThreads) {
  const Template t = Parse("{{counter}}");
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::vector<std::string>> outputs(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(i);
      RenderContext context = MakeContext(i + 1);
      context.rng = &rng;
      for (int j = 0; j < kEach; ++j) {
        std::string out;
        t.Render(context, out);
        outputs[i].push_back(out);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& list : outputs) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_TRUE(all.contains("1"));
  EXPECT_TRUE(all.contains(std::to_string(kThreads * kEach)));
}

TEST_F(TemplateTest, User) { EXPECT_EQ(Render(Parse("Load User {{user}}")), "Load User 7"); }

TEST_F(TemplateTest, ItemPicksFromTheList) {
  const Template t = Parse("{{item emails}}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(Render(t));
  EXPECT_EQ(seen, (std::set<std::string>{"a@x", "b@x", "c@x"}));
  EXPECT_EQ(Render(Parse("{{item colours}}")), "red");
}

TEST_F(TemplateTest, NextWrapsAroundAndIsShared) {
  const Template t = Parse("{{next emails}}");
  const Template other = Parse("to={{next emails}}");
  EXPECT_EQ(Render(t), "a@x");
  EXPECT_EQ(Render(t), "b@x");
  EXPECT_EQ(Render(other), "to=c@x");  // one cursor per list, shared by every template
  EXPECT_EQ(Render(t), "a@x");         // wraps around
  RenderContext second_user = MakeContext(2);
  std::string out;
  t.Render(second_user, out);
  EXPECT_EQ(out, "b@x");
  EXPECT_EQ(Render(Parse("{{next colours}}")), "red");
  // The list cursors do not touch the counters.
  EXPECT_EQ(Render(Parse("{{counter}}")), "1");
}

TEST_F(TemplateTest, MixedTemplate) {
  const Template t =
      Parse(R"({"email":"{{next emails}}","n":{{counter}},"c":"{{pick a}}","u":{{user}}})");
  EXPECT_EQ(Render(t), R"({"email":"a@x","n":1,"c":"a","u":7})");
}

TEST_F(TemplateTest, SeededRngIsDeterministic) {
  const Template t = Parse("{{random 1 1000000}}-{{pick a b c d}}-{{item emails}}");
  std::vector<std::string> first;
  std::vector<std::string> second;
  first.reserve(50);
  second.reserve(50);
  rng_.seed(1234);
  for (int i = 0; i < 50; ++i) first.push_back(Render(t));
  rng_.seed(1234);
  for (int i = 0; i < 50; ++i) second.push_back(Render(t));
  EXPECT_EQ(first, second);
  rng_.seed(99);
  EXPECT_NE(Render(t), first[0]);
}

TEST_F(TemplateTest, UnknownNameListsWhatExists) {
  EXPECT_EQ(Error("{{tokn}}"),
            R"(unknown name "tokn" in "{{tokn}}" (variables: token, password; lists: emails, )"
            R"(colours))");
  EXPECT_NE(Error("x {{emails}}").find("{{item emails}}"), std::string::npos);
}

TEST_F(TemplateTest, BadPlaceholdersAreQuoted) {
  const std::map<std::string, std::string> cases = {
      {"abc {{token", R"(unclosed "{{" in "{{token")"},
      {"{{}}", R"(empty placeholder in "{{}}")"},
      {"{{   }}", R"(empty placeholder in "{{   }}")"},
      {"{{random 5 1}}", R"(random's low bound 5 is above its high bound 1 in "{{random 5 1}}")"},
      {"{{random 1}}", R"("{{random 1}}")"},
      {"{{random 1 2 3}}", R"("{{random 1 2 3}}")"},
      {"{{random a 2}}", R"("{{random a 2}}")"},
      {"{{random 1 99999999999999999999}}", R"("{{random 1 99999999999999999999}}")"},
      {"{{random 1.5 2}}", R"("{{random 1.5 2}}")"},
      {"{{pick}}", R"(pick takes one or more words)"},
      {"{{counter a b}}", R"("{{counter a b}}")"},
      {"{{counter nope}}", R"(unknown counter "nope" in "{{counter nope}}")"},
      {"{{user 1}}", R"(user takes no arguments in "{{user 1}}")"},
      {"{{item}}", R"("{{item}}")"},
      {"{{item nope}}", R"(unknown list "nope" in "{{item nope}}" (lists: emails, colours))"},
      {"{{next emails colours}}", R"("{{next emails colours}}")"},
      {"{{token extra}}", R"(unknown function "token" (use random, pick, counter, user, item )"
                          R"(or next) in "{{token extra}}")"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string error = Error(text);
    EXPECT_NE(error.find(expected), std::string::npos) << text << " -> " << error;
  }
}

TEST_F(TemplateTest, CounterNamesForScenarioParsing) {
  EXPECT_EQ(Template::CounterNames("{{counter}} {{ counter orders }} {{counter}} {{user}}"),
            (std::vector<std::string>{"", "orders", ""}));
  EXPECT_TRUE(Template::CounterNames("{{counter a b}} {{counter").empty());
}

TEST_F(TemplateTest, LongTemplatesAreQuotedShort) {
  const std::string error = Error("{{token " + std::string(500, 'x') + "}}");
  EXPECT_LT(error.size(), 200U);
}

}  // namespace
}  // namespace myriad::load
