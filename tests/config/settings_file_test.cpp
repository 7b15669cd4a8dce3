// The settings screen's edits of the TOML file: only the changed values move, comments and
// layout stay, and the file is replaced whole or not at all.
#include "config/settings_file.hpp"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/config/test_util.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::config {
namespace {

using test::lines;

std::string edited(const std::string& text, std::vector<setting_change> changes) {
  auto out = edit_settings_text(text, "node.toml", changes);
  EXPECT_TRUE(out) << (out ? "" : caf::to_string(out.error()));
  return out ? *out : "";
}

TEST(SettingsFileTest, ReplacesValuesWhereTheyStandAndKeepsComments) {
  auto text = lines({"# my node", "[federation]", "enabled = true   # on", "domain = 'a.example'",
                     "discovery = \"dns\" # how peers are found", "", "[storage]", "dir = \"d\""});
  auto out = edited(text, {{"federation.discovery", std::string{"hub"}},
                           {"federation.enabled", false},
                           {"federation.domain", std::string{"b.example"}}});
  EXPECT_EQ(out,
            lines({"# my node", "[federation]", "enabled = false  # on", "domain = \"b.example\"",
                   "discovery = \"hub\" # how peers are found", "", "[storage]", "dir = \"d\""}));
  auto s = parse_settings(out, "node.toml");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->discovery, discovery_method::hub);
  EXPECT_FALSE(s->enabled);
  EXPECT_EQ(s->domain, "b.example");
}

TEST(SettingsFileTest, CommentsAfterValuesKeepTheirColumnWhileTheyCan) {
  auto text =
      lines({"[federation]", "domain = \"a.example\"        # ours", "hub_url = \"x\" # hub"});
  auto out = edited(text, {{"federation.domain", std::string{"b.example.org"}},
                           {"federation.hub_url", std::string{"https://hub.example"}}});
  EXPECT_EQ(out, lines({"[federation]", "domain = \"b.example.org\"    # ours",
                        "hub_url = \"https://hub.example\" # hub"}));
}

TEST(SettingsFileTest, AddsAMissingKeyBelowTheLastKeyOfItsTable) {
  auto text = lines({"[federation]", "domain = \"a.example\"", "# trailing comment", "", "[peers]",
                     "allow = []", "[[peers.static]]", "domain = \"b.example\""});
  auto out = edited(text, {{"federation.hub_url", std::string{"https://hub.example"}},
                           {"peers.deny", std::string{"x"}}});
  EXPECT_EQ(out,
            lines({"[federation]", "domain = \"a.example\"", "hub_url = \"https://hub.example\"",
                   "# trailing comment", "", "[peers]", "allow = []", "deny = \"x\"",
                   "[[peers.static]]", "domain = \"b.example\""}));
}

TEST(SettingsFileTest, AppendsATableTheFileLacks) {
  auto out = edited("[storage]\ndir = \"d\"", {{"federation.domain", std::string{"a.example"}}});
  EXPECT_EQ(out, "[storage]\ndir = \"d\"\n\n[federation]\ndomain = \"a.example\"\n");
  EXPECT_EQ(edited("[federation]", {{"federation.enabled", true}}),
            "[federation]\nenabled = true\n");
}

TEST(SettingsFileTest, EscapesStringsSoTheyReadBackTheSame) {
  std::string nasty = "a\"b\\c\nd\te\x01";
  auto out = edited("[federation]\ndomain = \"x\"\n", {{"federation.domain", nasty}});
  EXPECT_EQ(out, "[federation]\ndomain = \"a\\\"b\\\\c\\nd\\te\\u0001\"\n");
  // The bad domain is refused by validation, named as the command line names it.
  auto problems = test::problems(out);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("node.toml:2: federation.domain: ", 0), 0u) << problems[0];
}

TEST(SettingsFileTest, RefusesWhatItCannotEditLineByLine) {
  auto multi = edit_settings_text("[federation]\nhub_url = '''\nhttps://h'''\n", "node.toml",
                                  {{"federation.hub_url", std::string{"https://x"}}});
  ASSERT_FALSE(multi);
  EXPECT_EQ(multi.error(), errc::write_failed);
  auto inline_table = edit_settings_text("federation = { domain = \"a.example\" }\n", "node.toml",
                                         {{"federation.enabled", true}});
  ASSERT_FALSE(inline_table);
  EXPECT_NE(caf::to_string(inline_table.error()).find("inline or with dotted keys"),
            std::string::npos);
  auto broken = edit_settings_text("[federation\n", "node.toml", {{"federation.enabled", true}});
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error(), errc::parse_failed);
  // A value on one line of an inline table can still be replaced.
  auto replaced = edit_settings_text("federation = { domain = \"a.example\" }\n", "node.toml",
                                     {{"federation.domain", std::string{"b.example"}}});
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced, "federation = { domain = \"b.example\" }\n");
}

TEST(SettingsFileTest, ReplaceFileKeepsTheModeAndLeavesNoTemporaryFile) {
  fedrelay::test::temp_dir dir{"settings-file"};
  auto path = dir.path() + "/node.toml";
  fedrelay::test::write_file(path, "old\n");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_FALSE(replace_file(path, "new\n"));
  EXPECT_EQ(fedrelay::test::read_file(path), "new\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename(), "node.toml");
  // A directory that cannot be written leaves the file as it was and says why.
  auto err = replace_file(dir.path() + "/missing/node.toml", "x");
  ASSERT_TRUE(err);
  EXPECT_EQ(err, errc::write_failed);
  EXPECT_NE(caf::to_string(err).find("cannot create"), std::string::npos);
}

// The temporary file's name is new each time and created afresh, so a link someone placed
// under a name the node would use leads nowhere; a settings file that is a link to the
// real one is replaced where it points, and stays a link.
TEST(SettingsFileTest, ReplaceFileFollowsNoPlacedLinkAndKeepsALinkedFileALink) {
  namespace fs = std::filesystem;
  fedrelay::test::temp_dir dir{"settings-file"};
  fs::create_directories(dir / "real");
  auto real = dir / "real/node.toml";
  fedrelay::test::write_file(real, "old\n");
  auto link = dir / "node.toml";
  fs::create_symlink(real, link);
  fs::create_symlink(dir / "victim", dir / ".node.toml.tmp");
  fs::create_symlink(dir / "victim", dir / "real/.node.toml.tmp");
  ASSERT_FALSE(replace_file(link, "new\n"));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fedrelay::test::read_file(real), "new\n");
  EXPECT_EQ(fedrelay::test::read_file(link), "new\n");
  EXPECT_FALSE(fs::exists(dir / "victim"));
  size_t in_real = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir / "real")) ++in_real;
  EXPECT_EQ(in_real, 2u);  // node.toml and the placed link, nothing left over
}

}  // namespace
}  // namespace fedrelay::config

namespace fedrelay::config {
namespace {

TEST(SettingsFileTest, NestingIsCountedOutsideStringsAndComments) {
  const std::string deep(100, '[');
  EXPECT_EQ(line_nested_too_deep("a = [[1], [2]]\n[t]\n[[u]]\n"), 0u);
  EXPECT_EQ(line_nested_too_deep("a = \"" + deep + "\"\n"), 0u);
  EXPECT_EQ(line_nested_too_deep("a = \"\\\"" + deep + "\"\n"), 0u);  // an escaped quote
  EXPECT_EQ(line_nested_too_deep("a = '" + deep + "'\n"), 0u);
  EXPECT_EQ(line_nested_too_deep("a = \"\"\"\n" + deep + "\n\"\"\"\n"), 0u);
  EXPECT_EQ(line_nested_too_deep("a = '''\n" + deep + "\n'''\n"), 0u);
  EXPECT_EQ(line_nested_too_deep("# " + deep + "\n"), 0u);
  // Lines inside multi-line strings count toward the line named.
  EXPECT_EQ(line_nested_too_deep("a = '''\n\n'''\nb = " + deep + "\n"), 4u);
  EXPECT_EQ(line_nested_too_deep("a = \"\"\"x\"\"\"\"\nb = " + deep + "\n"), 2u);
  EXPECT_EQ(line_nested_too_deep("a = " + std::string(64, '{') + "\n"), 0u);
  EXPECT_EQ(line_nested_too_deep("a = " + std::string(65, '{') + "\n"), 1u);
}

TEST(SettingsFileTest, EditingADeeplyNestedFileIsParseFailed) {
  auto out = edit_settings_text("x = " + std::string(8000, '[') + std::string(8000, ']') + "\n",
                                "node.toml", {{"federation.enabled", true}});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error(), errc::parse_failed);
}

}  // namespace
}  // namespace fedrelay::config
