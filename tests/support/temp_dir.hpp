// A directory under the system temp dir that is removed, with everything in it, when the
// object goes away, also when a test fails.
#pragma once

#include <cstddef>
#include <string>

namespace fedrelay::test {

class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "fedrelay-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  /// path() + "/" + name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes `text` to `path` (replacing it).
void write_file(const std::string& path, const std::string& text);

/// The whole content of `path`; empty when it cannot be read.
std::string read_file(const std::string& path);

/// How many entries directory `dir` holds; 0 when it does not exist.
size_t entries(const std::string& dir);

}  // namespace fedrelay::test
