#include "app/status_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fedrelay::app {

void write_status_file(const std::string& dir, config::status s) {
  auto path = dir + "/" + status_file_name;
  auto tmp = path + ".tmp";
  auto line = std::to_string(getpid()) + ' ' + std::string{config::status_text(s)} + '\n';
  bool written = false;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << line;
    out.close();
    written = !out.fail();
  }
  // rename() is atomic, so a reader never sees half a line.
  if (written && std::rename(tmp.c_str(), path.c_str()) == 0) return;
  std::remove(tmp.c_str());
  // A full disk: the line goes over the file's first line in place, which takes no new
  // block (a reader reads up to the first newline).
  if (FILE* f = std::fopen(path.c_str(), "r+")) {
    std::fputs(line.c_str(), f);
    std::fclose(f);
  }
}

void remove_status_file(const std::string& dir) {
  std::remove((dir + "/" + status_file_name).c_str());
}

namespace {

/// (pid, status text) from dir/status when that pid is alive.
std::optional<std::pair<pid_t, std::string>> read_live(const std::string& dir) {
  std::ifstream in(dir + "/" + status_file_name);
  long pid = 0;
  std::string text;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  std::getline(in >> std::ws, text);
  // A node killed with SIGKILL leaves its file behind; only a live pid counts.
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return std::nullopt;
  return std::make_pair(static_cast<pid_t>(pid), text);
}

}  // namespace

std::optional<pid_t> read_live_pid(const std::string& dir) {
  auto live = read_live(dir);
  if (!live) return std::nullopt;
  return live->first;
}

std::string live_status_unreadable(const std::string& dir) {
  auto path = dir + "/" + status_file_name;
  if (::access(path.c_str(), R_OK) == 0 || errno != EACCES) return {};
  return "cannot read " + path + ": " + std::strerror(EACCES);
}

std::optional<std::string> read_live_status(const std::string& dir) {
  auto live = read_live(dir);
  if (!live) return std::nullopt;
  return live->second;
}

}  // namespace fedrelay::app
