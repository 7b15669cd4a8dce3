// The network layer's named logger ("net").
#pragma once

#include <memory>

#include <spdlog/logger.h>

namespace fedrelay::net {

std::shared_ptr<spdlog::logger> log();

}  // namespace fedrelay::net
