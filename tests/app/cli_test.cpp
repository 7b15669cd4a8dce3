// The operator's first steps through the real binary: keygen, dns-records, status, run,
// configuration errors, a second node on the same data directory, and the allocator's
// settings the binary carries.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "actors/previous_keys.hpp"
#include "crypto/pem.hpp"
#include "storage/store.hpp"
#include "tests/app/cli_support.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::test {
namespace {

using namespace std::chrono_literals;

class CliTest : public testing::Test {
 protected:
  temp_dir dir;
  std::string config = dir / "node.toml";

  /// `fedrelay run` of the settings file, its output appended to `log`, once it says
  /// Running (a fatal failure when it does not within 20 s).
  child_process run_until_running(const std::string& log) {
    child_process node({FEDRELAY_BINARY, "run", "-c", config}, log);
    [&] {
      ASSERT_TRUE(
          wait_until([&] { return read_file(log).find("Running\n") != std::string::npos; }, 20s))
          << read_file(log);
    }();
    return node;
  }

  void write_config(const std::string& extra = {}) {
    write_file(config,
               node_config("a.example", dir / "data", free_tcp_port(), free_tcp_port(), extra));
  }
};

TEST_F(CliTest, KeygenCreatesAPrivateKeyAndPrintsAPemOpensslReads) {
  write_config();
  auto out = fedrelay({"keygen", "-c", config});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto begin = out.output.find("-----BEGIN PUBLIC KEY-----");
  ASSERT_NE(begin, std::string::npos) << out.output;
  auto pem = out.output.substr(begin);
  ASSERT_TRUE(crypto::parse_public_key_pem(pem));
  struct stat st {};
  ASSERT_EQ(stat((dir / "data/node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  write_file(dir / "pub.pem", pem);
  auto openssl =
      run_command({"openssl", "pkey", "-pubin", "-in", dir / "pub.pem", "-text", "-noout"});
  EXPECT_EQ(openssl.exit_code, 0) << openssl.output;
  EXPECT_NE(openssl.output.find("ED25519 Public-Key"), std::string::npos) << openssl.output;
  // The secret never appears in what keygen prints.
  EXPECT_EQ(out.output.find("PRIVATE"), std::string::npos);
}

// A new identity for a stopped node: the old key is kept in its store as previous (so
// federation.keys names it), and can be forgotten after a leak; a running node's store
// is refused.
TEST_F(CliTest, KeygenNewReplacesTheKeyAndKeepsTheOldOneAsPrevious) {
  write_config();
  auto key_of = [](const std::string& output) {
    auto begin = output.find("-----BEGIN PUBLIC KEY-----");
    constexpr std::string_view end_line = "-----END PUBLIC KEY-----";
    auto end = output.find(end_line, begin);
    EXPECT_NE(end, std::string::npos) << output;
    auto key = crypto::parse_public_key_pem(output.substr(begin, end + end_line.size() - begin));
    EXPECT_TRUE(key) << output;
    return key ? *key : crypto::public_key{};
  };
  auto previous_keys = [&](const crypto::public_key& current) {
    auto db = storage::store::open(dir / "data/db");
    EXPECT_TRUE(db);
    std::vector<crypto::public_key> out;
    if (!db) return out;
    auto keys = actors::note_own_key(**db, current, 0);
    EXPECT_TRUE(keys);
    if (keys)
      for (const auto& k : *keys) out.push_back(k.key);
    return out;
  };
  auto first = fedrelay({"keygen", "-c", config});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto old_key = key_of(first.output);

  {
    // A running node holds its store: nothing changes.
    auto held = storage::store::open(dir / "data/db");
    ASSERT_TRUE(held);
    auto refused = fedrelay({"keygen", "--new", "-c", config});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find("stop it first"), std::string::npos) << refused.output;
  }
  EXPECT_EQ(key_of(fedrelay({"keygen", "-c", config}).output), old_key);

  auto renewed = fedrelay({"keygen", "--new", "-c", config});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.output;
  auto new_key = key_of(renewed.output);
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(key_of(fedrelay({"keygen", "-c", config}).output), new_key);
  EXPECT_EQ(previous_keys(new_key), std::vector<crypto::public_key>{old_key});

  auto forgot = fedrelay({"keygen", "--forget-previous", "-c", config});
  ASSERT_EQ(forgot.exit_code, 0) << forgot.output;
  EXPECT_EQ(key_of(forgot.output), new_key);
  EXPECT_TRUE(previous_keys(new_key).empty());
}

TEST_F(CliTest, KeygenKeepsTheExistingIdentity) {
  write_config();
  auto first = fedrelay({"keygen", "-c", config});
  auto second = fedrelay({"keygen", "-c", config});
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_NE(first.output.find("created a new node identity"), std::string::npos);
  EXPECT_EQ(second.output.find("created a new node identity"), std::string::npos);
  auto pem_of = [](const std::string& s) { return s.substr(s.find("-----BEGIN")); };
  EXPECT_EQ(pem_of(first.output), pem_of(second.output));
}

TEST_F(CliTest, DnsRecordsShowsBothForms) {
  write_file(config,
             "[federation]\ndomain = \"a.example\"\npublic_url = \"https://chat.a.example:8443\"\n"
             "[storage]\ndir = \"data\"\n[local_api]\ntoken = \"t\"\n");
  auto key = fedrelay({"keygen", "-c", config});
  auto pem = key.output.substr(key.output.find("-----BEGIN"));
  auto parsed = crypto::parse_public_key_pem(pem);
  ASSERT_TRUE(parsed);
  auto line = crypto::public_key_pem_line(*parsed);
  auto out = fedrelay({"dns-records", "-c", config});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("_rocketchat._tcp.a.example. 3600 IN SRV 1 1 8443 chat.a.example."),
            std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("rocketchat-public-key.a.example. 3600 IN TXT \"" + line + "\""),
            std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("rocketchat-protocol.a.example. 3600 IN TXT \"https\""),
            std::string::npos);
  EXPECT_NE(out.output.find("_rocketchat._tcp.a.example  SRV  1 1 8443 chat.a.example"),
            std::string::npos);
  EXPECT_NE(out.output.find("rocketchat-public-key.a.example  TXT  \"" + line + "\""),
            std::string::npos);
  EXPECT_EQ(out.output.find("warning"), std::string::npos) << out.output;
}

// An SRV target must be a host name: a public_url naming an address gets the records and
// a warning saying what to do, for IPv4 and IPv6 alike.
TEST_F(CliTest, DnsRecordsWarnsThatAnAddressIsNoSrvTarget) {
  for (const char* host : {"192.0.2.7", "[2001:db8::7]"}) {
    write_file(config,
               std::string("[federation]\ndomain = \"a.example\"\npublic_url = \"https://") + host +
                   ":8443\"\n[storage]\ndir = \"data\"\n[local_api]\ntoken = \"t\"\n");
    ASSERT_EQ(fedrelay({"keygen", "-c", config}).exit_code, 0);
    auto out = fedrelay({"dns-records", "-c", config});
    EXPECT_EQ(out.exit_code, 0) << out.output;
    EXPECT_NE(out.output.find("\n; warning: public_url names the address"), std::string::npos)
        << out.output;
    EXPECT_NE(out.output.find("an A or AAAA record such as relay.a.example"), std::string::npos)
        << out.output;
  }
}

// A command line not understood exits 64 (EX_USAGE), one of the documented codes, and an
// unknown command is named with the known ones; --help is still a success.
TEST_F(CliTest, ACommandLineNotUnderstoodExits64AndAnUnknownCommandListsTheKnown) {
  auto unknown = fedrelay({"frobnicate", "-c", config});
  EXPECT_EQ(unknown.exit_code, 64) << unknown.output;
  EXPECT_NE(unknown.output.find("error: unknown command \"frobnicate\" (commands: run, keygen, "),
            std::string::npos)
      << unknown.output;
  for (std::vector<std::string> args : {std::vector<std::string>{}, {"run"}, {"run", "--bogus"}}) {
    auto out = fedrelay(args);
    EXPECT_EQ(out.exit_code, 64) << out.output;
    EXPECT_EQ(out.output.find("unknown command"), std::string::npos) << out.output;
  }
  EXPECT_EQ(fedrelay({"--help"}).exit_code, 0);
}

TEST_F(CliTest, StatusOfAFileWithoutDomainIsNotFullySet) {
  write_file(config, "[storage]\ndir = \"data\"\n");
  for (const char* cmd : {"status", "run"}) {
    auto out = fedrelay({cmd, "-c", config});
    EXPECT_EQ(out.exit_code, 2) << cmd << ": " << out.output;
    EXPECT_NE(out.output.find("Could not enable, settings are not fully set\n"), std::string::npos)
        << out.output;
    EXPECT_NE(out.output.find("missing: federation.domain"), std::string::npos) << out.output;
  }
}

TEST_F(CliTest, StatusOfADisabledNodeIsDisabled) {
  write_file(config, "[federation]\nenabled = false\n");
  for (const char* cmd : {"status", "run"}) {
    auto out = fedrelay({cmd, "-c", config});
    EXPECT_EQ(out.exit_code, 0) << out.output;
    EXPECT_EQ(out.output, "Disabled\n");
  }
}

TEST_F(CliTest, ConfigMistakesNameFileLineAndKey) {
  write_file(config,
             "[federation]\ndomain = \"a.example\"\ndiscovery = \"carrier-pigeon\"\n"
             "[listen]\nfederation = \"0.0.0.0\"\n");
  auto out = fedrelay({"run", "-c", config});
  EXPECT_EQ(out.exit_code, 78);
  EXPECT_NE(out.output.find("node.toml:3: federation.discovery"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("node.toml:5: listen.federation"), std::string::npos) << out.output;
  EXPECT_EQ(out.output.find("Booting"), std::string::npos) << "must not start half-configured";
}

TEST_F(CliTest, RunBootsThenRunsAndStatusFollows) {
  write_config();
  std::string log = dir / "node.log";
  auto node = run_until_running(log);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(read_file(log).find("Booting...\n"), 0u) << read_file(log);
  // The real binary's librocksdb computes its checksums with the program's CRC32C.
  if (__builtin_cpu_supports("sse4.2")) {
    EXPECT_NE(read_file(log).find("RocksDB's checksums run on the CPU's crc32 instruction"),
              std::string::npos)
        << read_file(log);
  }
  EXPECT_NE(read_file(log).find("every accepted event is synced to disk before it is answered"),
            std::string::npos)
      << read_file(log);
  auto status = fedrelay({"status", "-c", config});
  EXPECT_EQ(status.output, "Running\n");
  EXPECT_EQ(status.exit_code, 0);
  // The running node says what it does, whatever the file says since it was edited.
  auto text = read_file(config);
  write_file(config, "[federation]\nenabled = false\n" + text.substr(text.find('\n') + 1));
  EXPECT_EQ(fedrelay({"status", "-c", config}).output, "Running\n");
  write_file(config, text);
  EXPECT_EQ(node.stop(SIGTERM), 0);
  // Stopped, a node set to run is told apart from one set to be off by the exit code.
  auto after = fedrelay({"status", "-c", config});
  EXPECT_NE(after.output.find("Disabled\n"), std::string::npos) << after.output;
  EXPECT_NE(after.output.find("no node is running on"), std::string::npos) << after.output;
  EXPECT_EQ(after.exit_code, 4);
  EXPECT_EQ(fedrelay({"reload", "-c", config}).exit_code, 4);
}

// An account that may not look into the node's data directory cannot tell whether the
// node runs: it is told so, not that no node runs.
TEST_F(CliTest, StatusFromAnotherAccountSaysItCannotTell) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a command as another account";
  write_config();
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  std::string log = dir / "node.log";
  auto node = run_until_running(log);
  ASSERT_FALSE(HasFatalFailure());
  for (const char* cmd : {"status", "reload"}) {
    auto out = run_command({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            FEDRELAY_BINARY, cmd, "-c", config});
    EXPECT_EQ(out.exit_code, 1) << out.output;
    EXPECT_NE(out.output.find("cannot read " + dir / "data" +
                              "/status: Permission denied (run "
                              "fedrelay " +
                              cmd + " as the account that runs it)"),
              std::string::npos)
        << out.output;
    EXPECT_EQ(out.output.find("no node is running"), std::string::npos) << out.output;
  }
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

// A data directory is its domain's: a node of another name is not started on it.
TEST_F(CliTest, ANodeIsNotStartedOnAnotherDomainsData) {
  write_config();
  std::string log = dir / "node.log";
  {
    auto node = run_until_running(log);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(node.stop(SIGTERM), 0);
  }
  auto text = read_file(config);
  auto at = text.find("a.example");
  ASSERT_NE(at, std::string::npos);
  write_file(config, text.substr(0, at) + "b.example" + text.substr(at + 9));
  auto refused = fedrelay({"run", "-c", config});
  EXPECT_EQ(refused.exit_code, 78) << refused.output;
  EXPECT_NE(refused.output.find("holds the data of a.example, not of b.example"), std::string::npos)
      << refused.output;
  EXPECT_EQ(refused.output.find("Running"), std::string::npos) << refused.output;
  auto checked = fedrelay({"check", "-c", config});
  EXPECT_NE(check_line(checked.output, "storage.dir").find("error"), std::string::npos)
      << checked.output;
}

// toml11 reads each level of nesting with a call of its own: thousands of levels would
// overflow its stack. Such a file does not load, for every command and for a running
// node's reload and restart alike, which keep the node as it was.
TEST_F(CliTest, ADeeplyNestedFileIsRefusedNotACrash) {
  write_config();
  const std::string good = read_file(config);
  const std::string deep = good + "x = " + std::string(8000, '[') + std::string(8000, ']') + "\n";
  const std::string said = "values nested more than 64 levels deep";
  write_file(config, deep);
  for (const char* cmd : {"status", "run", "keygen"}) {
    auto out = fedrelay({cmd, "-c", config});
    EXPECT_EQ(out.exit_code, 78) << cmd << ": " << out.output;
    EXPECT_NE(out.output.find(said), std::string::npos) << cmd << ": " << out.output;
  }
  auto checked = fedrelay({"check", "-c", config});
  EXPECT_EQ(checked.exit_code, 1) << checked.output;
  EXPECT_NE(checked.output.find(said), std::string::npos) << checked.output;

  write_file(config, good);
  std::string log = dir / "node.log";
  auto node = run_until_running(log);
  ASSERT_FALSE(HasFatalFailure());
  write_file(config, deep);
  ASSERT_EQ(::kill(node.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        return read_file(log).find(
                   "reload refused: the settings above are not valid; nothing "
                   "changed") != std::string::npos;
      },
      10s))
      << read_file(log);
  ASSERT_EQ(::kill(node.pid(), SIGUSR1), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        return read_file(log).find(
                   "restart refused: the settings above are not valid; "
                   "nothing changed") != std::string::npos;
      },
      10s))
      << read_file(log);
  EXPECT_NE(read_file(log).find(said), std::string::npos) << read_file(log);
  write_file(config, good);
  EXPECT_EQ(fedrelay({"status", "-c", config}).output, "Running\n");
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

// A FIFO would hold every command until someone wrote to it.
TEST_F(CliTest, ASettingsFileThatIsNotARegularFileIsRefused) {
  ASSERT_EQ(::mkfifo(config.c_str(), 0600), 0);
  auto out = fedrelay({"status", "-c", config});
  EXPECT_EQ(out.exit_code, 78) << out.output;
  EXPECT_NE(out.output.find(config + ": cannot read: it is a FIFO, not a regular file"),
            std::string::npos)
      << out.output;
}

// A data directory a node ran on whose store is gone (db/ removed, a volume not mounted)
// is not given an empty store: every queued event would be lost while the node said it
// runs. A new directory still gets its store.
TEST_F(CliTest, ANodeIsNotStartedOnADataDirectoryThatLostItsStore) {
  write_config();
  std::string log = dir / "node.log";
  {
    auto node = run_until_running(log);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(node.stop(SIGTERM), 0);
  }
  std::filesystem::remove_all(dir / "data/db");
  auto refused = fedrelay({"run", "-c", config});
  EXPECT_EQ(refused.exit_code, 78) << refused.output;
  EXPECT_NE(refused.output.find("holds the data of a.example (its domain file) but not its "
                                "store: " +
                                dir / "data/db/CURRENT" + " is missing"),
            std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("restore " + dir / "data/db" +
                                " from a backup; or, to start afresh on purpose, remove " +
                                dir / "data/domain"),
            std::string::npos)
      << refused.output;
  EXPECT_EQ(refused.output.find("Running"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "data/db/CURRENT"));
  auto checked = fedrelay({"check", "-c", config});
  EXPECT_NE(check_line(checked.output, "storage.dir").find("error"), std::string::npos)
      << checked.output;
  EXPECT_NE(check_line(checked.output, "storage.dir").find("but not its store"), std::string::npos)
      << checked.output;
  // Starting afresh on purpose.
  std::filesystem::remove(dir / "data/domain");
  auto node = run_until_running(dir / "afresh.log");
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

// A store RocksDB will not open says what to do, besides RocksDB's reason.
TEST_F(CliTest, AStoreThatIsDamagedSaysWhatToDo) {
  write_config();
  {
    auto node = run_until_running(dir / "node.log");
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(node.stop(SIGTERM), 0);
  }
  auto current = dir / "data/db/CURRENT";
  auto manifest = read_file(current);
  write_file(current, "MANIFEST-999999\n");
  auto refused = fedrelay({"run", "-c", config});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("what to do: a file of the store is missing"), std::string::npos)
      << refused.output;
  // The manifest there, with other bytes in it.
  write_file(current, manifest);
  auto path = dir / "data/db/" + manifest.substr(0, manifest.find('\n'));
  auto bytes = read_file(path);
  ASSERT_GT(bytes.size(), 64u);
  for (size_t i = 16; i < 48; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  write_file(path, bytes);
  refused = fedrelay({"run", "-c", config});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("what to do: the store is damaged"), std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("restore storage.dir from a backup"), std::string::npos)
      << refused.output;
}

// A key kept elsewhere and linked to, whose file is gone, is not replaced by a new
// identity: peers know the node by that key.
TEST_F(CliTest, ALinkToAMissingKeyIsRefusedNotReplaced) {
  write_config();
  ASSERT_EQ(fedrelay({"keygen", "-c", config}).exit_code, 0);
  auto key = dir / "data/node.key";
  auto kept = dir / "kept.key";
  std::filesystem::rename(key, kept);
  ASSERT_EQ(::symlink((dir / "gone/node.key").c_str(), key.c_str()), 0);
  for (const char* cmd : {"keygen", "run"}) {
    auto out = fedrelay({cmd, "-c", config});
    EXPECT_EQ(out.exit_code, 1) << cmd << ": " << out.output;
    EXPECT_NE(out.output.find(key + " is a symbolic link to " + dir / "gone/node.key" +
                              ", which does not exist"),
              std::string::npos)
        << cmd << ": " << out.output;
    EXPECT_EQ(out.output.find("created a new node identity"), std::string::npos)
        << cmd << ": " << out.output;
    EXPECT_TRUE(std::filesystem::is_symlink(key)) << cmd;
  }
  auto checked = fedrelay({"check", "-c", config});
  EXPECT_NE(check_line(checked.output, "node.key").find("is a symbolic link to"), std::string::npos)
      << checked.output;
}

TEST_F(CliTest, PeriodicSyncIsAnnouncedWithItsPeriodAndRisk) {
  write_config();
  auto text = read_file(config);
  auto storage = text.find("[storage]\n");
  ASSERT_NE(storage, std::string::npos);
  text.insert(storage + 10, "sync = \"periodic\"\nsync_period_ms = 250\n");
  write_file(config, text);
  std::string log = dir / "node.log";
  auto node = run_until_running(log);
  ASSERT_FALSE(HasFatalFailure());
  auto said = read_file(log);
  EXPECT_NE(said.find("sync = \"periodic\": events are accepted before they are on disk, and "
                      "the log is synced every 250 ms"),
            std::string::npos)
      << said;
  EXPECT_EQ(said.find("synced to disk before it is answered"), std::string::npos) << said;
  EXPECT_EQ(node.stop(SIGTERM), 0);
}

TEST_F(CliTest, SecondNodeOnTheSameDirectoryGetsAClearError) {
  write_config();
  std::string log = dir / "node.log";
  auto first = run_until_running(log);
  ASSERT_FALSE(HasFatalFailure());
  auto second = fedrelay({"run", "-c", config});
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("in use by another fedrelay process"), std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find(dir / "data"), std::string::npos) << second.output;
  // The first node is unharmed.
  EXPECT_TRUE(first.running());
  EXPECT_EQ(fedrelay({"status", "-c", config}).output, "Running\n");
}

// The allocator settings the binary carries (app/main.cpp): jemalloc prints the options it
// took when asked for its statistics at exit. Without the binary's own settings it would
// report an arena per core and a decay of 10000 ms.
TEST_F(CliTest, BinaryRunsJemallocWithOneArenaThatKeepsItsFreedPages) {
#ifdef FEDRELAY_SANITIZED
  GTEST_SKIP() << "a sanitizer build links no jemalloc (FEDRELAY_SANITIZE)";
#endif
  auto result =
      run_command({"/usr/bin/env", "MALLOC_CONF=stats_print:true", FEDRELAY_BINARY, "--help"});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("opt.narenas: 1\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("opt.oversize_threshold: 0\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("opt.dirty_decay_ms: -1 "), std::string::npos) << result.output;
}

// The README's first command: three nodes in one process share a room, and every chat
// server gets the three messages; the demo leaves no data behind.
TEST_F(CliTest, DemoShowsEveryChatServerTheThreeMessagesAndCleansUp) {
  auto result =
      run_command({"/usr/bin/env", "TMPDIR=" + dir.path(), FEDRELAY_BINARY, "demo"}, 120s);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto count = [&](const std::string& text) {
    size_t n = 0;
    for (auto at = result.output.find(text); at != std::string::npos;
         at = result.output.find(text, at + 1))
      ++n;
    return n;
  };
  for (const char* domain : {"a.demo", "b.demo", "c.demo"})
    EXPECT_EQ(count(std::string{"what the chat server of "} + domain + " received:"), 1u)
        << result.output;
  for (const char* line :
       {"Hello from a.demo!", "Hi alice, bob here on b.demo.", "carol on c.demo, all ears."})
    EXPECT_EQ(count(line), 3u) << line << "\n" << result.output;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().rfind("fedrelay-demo-", 0), std::string::npos)
        << entry.path();
}

}  // namespace
}  // namespace fedrelay::test
