// The fedrelay executable: hands the command line to the app library.
#include "app/cli.hpp"

int main(int argc, char** argv) {
  return fedrelay::app::run_cli(argc, argv);
}
