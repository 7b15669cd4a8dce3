// The actors' named logger ("actors"), created on first use.
#pragma once

#include <memory>

#include <spdlog/logger.h>

namespace fedrelay::actors {

std::shared_ptr<spdlog::logger> log();

}  // namespace fedrelay::actors
