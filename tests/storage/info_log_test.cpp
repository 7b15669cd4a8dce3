#include "storage/info_log.hpp"

#include <unistd.h>

#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include "tests/support/temp_dir.hpp"

namespace fedrelay::storage {
namespace {

using fedrelay::test::read_file;

TEST(InfoLogTest, WritesRocksDBsLinesAndMovesAFullFileAsideAppendingAtOpen) {
  fedrelay::test::temp_dir dir{"fedrelay-info-log"};
  auto path = dir / "LOG";
  {
    auto log = open_info_log(path, 1024);
    rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "first %d", 1);
    rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, log, "second");
    auto text = read_file(path);
    // As RocksDB's own loggers write them: the time, the thread, then the line.
    std::regex line{R"(\d{4}/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{6} [0-9a-f]+ first 1\n)"
                    R"(\d{4}/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{6} [0-9a-f]+ \[WARN\] second\n)"};
    EXPECT_TRUE(std::regex_match(text, line)) << text;
    for (int i = 0; i < 40; ++i) rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "line %d", i);
    EXPECT_NE(read_file(path + ".old").find("first 1"), std::string::npos);
    EXPECT_LE(read_file(path).size(), 1024u + 128u);
    EXPECT_EQ(dropped_lines(*log), 0u);
  }
  // The next open (a node started again, or a store opened beside it) appends.
  auto last = read_file(path);
  auto log = open_info_log(path, 1024);
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "after the open");
  auto now = read_file(path);
  EXPECT_EQ(now.rfind(last, 0), 0u) << now;
  EXPECT_NE(now.find("after the open", last.size()), std::string::npos) << now;
}

// /dev/full answers every write with ENOSPC, as a full disk does.
TEST(InfoLogTest, LinesThatCannotBeWrittenAreDroppedAndCounted) {
  fedrelay::test::temp_dir dir{"fedrelay-info-log"};
  auto path = dir / "LOG";
  ASSERT_EQ(::symlink("/dev/full", path.c_str()), 0);
  auto log = open_info_log(path, 1024);
  for (int i = 0; i < 100; ++i) rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, log, "line %d", i);
  EXPECT_EQ(dropped_lines(*log), 100u);
  // Left where it is: opening appends.
  auto again = open_info_log(path, 1024);
  char target[64] = {};
  EXPECT_GT(::readlink(path.c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "/dev/full");
}

}  // namespace
}  // namespace fedrelay::storage
