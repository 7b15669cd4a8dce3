#include "actors/logger.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace fedrelay::actors {

std::shared_ptr<spdlog::logger> named_logger(const std::string& name) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> guard{mutex};
  if (auto existing = spdlog::get(name)) return existing;
  return spdlog::stderr_color_mt(name);
}

std::shared_ptr<spdlog::logger> log() {
  static auto logger = named_logger("actors");
  return logger;
}

}  // namespace fedrelay::actors
