#include "net/logger.hpp"

#include "actors/logger.hpp"

namespace fedrelay::net {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = actors::named_logger("net");
  return logger;
}

}  // namespace fedrelay::net
