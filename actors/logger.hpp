// Named spdlog loggers, one per folder ("actors", "net", "app"), created on first use.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace fedrelay::actors {

/// The logger called `name`, writing to stderr; created once, shared afterwards.
std::shared_ptr<spdlog::logger> named_logger(const std::string& name);

/// The actors' logger.
std::shared_ptr<spdlog::logger> log();

}  // namespace fedrelay::actors
