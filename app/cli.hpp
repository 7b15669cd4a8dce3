// The command line of DESIGN.md section 9: parses argv and runs one subcommand.
#pragma once

namespace fedrelay::app {

/// Runs the subcommand named in argv; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace fedrelay::app
