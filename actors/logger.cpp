#include "actors/logger.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace fedrelay::actors {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    if (auto existing = spdlog::get("actors")) return existing;
    return spdlog::stderr_color_mt("actors");
  }();
  return logger;
}

}  // namespace fedrelay::actors
