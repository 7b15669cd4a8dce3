// Parses the command line with CLI11 and dispatches to app/commands.hpp.
#include "app/cli.hpp"

#include <CLI/CLI.hpp>

#include "app/commands.hpp"

namespace fedrelay::app {

int run_cli(int argc, char** argv) {
  CLI::App cli{"fedrelay: a federation relay node for chat servers"};
  cli.require_subcommand(1);
  std::string config_path;
  std::string domain;

  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", config_path, "the node's TOML settings file")->required();
  };
  auto* run = cli.add_subcommand("run", "run the node");
  add_config(run);
  auto* keygen =
      cli.add_subcommand("keygen", "create the node identity if absent; print the public key PEM");
  add_config(keygen);
  auto* status = cli.add_subcommand("status", "print the federation status of the node");
  add_config(status);
  auto* records = cli.add_subcommand("dns-records", "print the DNS records to publish");
  add_config(records);
  auto* reload = cli.add_subcommand(
      "reload", "make the running node re-read its settings (the [peers] lists); same as SIGHUP");
  add_config(reload);
  auto* resolve = cli.add_subcommand("resolve", "show what discovery finds for a peer domain");
  resolve->add_option("domain", domain, "the peer's domain")->required();
  add_config(resolve);
  auto* hub = cli.add_subcommand("hub", "run a Hub: registration by mail, and lookups");
  add_config(hub);

  CLI11_PARSE(cli, argc, argv);
  if (run->parsed()) return cmd_run(config_path);
  if (keygen->parsed()) return cmd_keygen(config_path);
  if (status->parsed()) return cmd_status(config_path);
  if (records->parsed()) return cmd_dns_records(config_path);
  if (reload->parsed()) return cmd_reload(config_path);
  if (resolve->parsed()) return cmd_resolve(config_path, domain);
  if (hub->parsed()) return cmd_hub(config_path);
  return exit_error;
}

}  // namespace fedrelay::app
