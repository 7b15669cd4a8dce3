#include "app/cli.hpp"

#include <CLI/CLI.hpp>

namespace fedrelay::app {

int run_cli(int argc, char** argv) {
  CLI::App cli{"fedrelay: a federation relay node for chat servers"};
  cli.require_subcommand(1);
  CLI11_PARSE(cli, argc, argv);
  return 0;
}

}  // namespace fedrelay::app
