// Parses the command line with CLI11 and dispatches to app/commands.hpp.
#include "app/cli.hpp"

#include <iostream>

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
  bool new_key = false;
  bool forget_previous = false;
  keygen->add_flag("--new", new_key,
                   "replace the identity with a new one; the old key stays verifiable for peers "
                   "(federation.keys). The node must be stopped");
  keygen->add_flag("--forget-previous", forget_previous,
                   "stop vouching for the keys the node had before, after one leaked. The node "
                   "must be stopped");
  auto* status = cli.add_subcommand("status", "print the federation status of the node");
  add_config(status);
  auto* records = cli.add_subcommand("dns-records", "print the DNS records to publish");
  add_config(records);
  auto* reload = cli.add_subcommand(
      "reload",
      "make the running node re-read its settings (the [peers] lists, the TLS certificate, "
      "tls.ca), or the running Hub its certificate; same as SIGHUP");
  add_config(reload);
  auto* resolve = cli.add_subcommand("resolve", "show what discovery finds for a peer domain");
  resolve->add_option("domain", domain, "the peer's domain")->required();
  add_config(resolve);
  bool json = false;
  auto* check = cli.add_subcommand(
      "check", "check the settings, files, ports, DNS, Hub, public URL and TLS; one line each");
  check->add_flag("--json", json, "print the results as one JSON object");
  add_config(check);
  auto* hub = cli.add_subcommand("hub", "run a Hub: registration by mail, and lookups");
  add_config(hub);

  std::string room, user, text, by, name, type = "public";
  uint64_t after = 0;
  bool follow = false, keep = false;
  auto* room_cmd =
      cli.add_subcommand("room", "create rooms and invite users through the local API");
  room_cmd->require_subcommand(1);
  auto* room_create =
      room_cmd->add_subcommand("create", "create a room hosted here; prints its id");
  room_create->add_option("name", name, "the room's name")->required();
  room_create->add_option("--type", type, "public, private or broadcast")->capture_default_str();
  room_create->add_option("--owner", user, "the local user who owns it")->required();
  add_config(room_create);
  auto* room_invite = room_cmd->add_subcommand("invite", "invite a user (name or name@domain)");
  room_invite->add_option("room", room, "the room id")->required();
  room_invite->add_option("user", user, "the user to invite")->required();
  room_invite->add_option("--by", by, "the local user who invites")->required();
  add_config(room_invite);
  auto* send = cli.add_subcommand("send", "send a message to a room; prints the event id");
  send->add_option("room", room, "the room id")->required();
  send->add_option("user", user, "the local user who writes")->required();
  send->add_option("text", text, "the message")->required();
  add_config(send);
  auto* tail = cli.add_subcommand("tail", "print the events the node has for its local server");
  tail->add_option("--after", after, "start after this cursor (0: from the beginning)");
  tail->add_flag("-f,--follow", follow, "keep waiting for new events");
  add_config(tail);
  auto* demo =
      cli.add_subcommand("demo", "three nodes on loopback sharing a room, for a first look");
  demo->add_flag("--keep", keep, "leave the nodes running until Ctrl-C");

  // CLI11's exit codes (106 and up) would reach scripts as numbers no page explains: a
  // command line not understood is exit_usage, and an unknown command lists the known.
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help
    std::string known;
    bool named_known = false;
    for (const auto* sub : cli.get_subcommands([](const CLI::App*) { return true; })) {
      known += (known.empty() ? "" : ", ") + sub->get_name();
      named_known |= argc > 1 && sub->get_name() == argv[1];
    }
    if (argc > 1 && argv[1][0] != '-' && !named_known) {
      std::cerr << "error: unknown command \"" << argv[1] << "\" (commands: " << known
                << "; fedrelay --help says what each does)\n";
      return exit_usage;
    }
    cli.exit(e);
    return exit_usage;
  }
  if (room_create->parsed()) return cmd_room_create(config_path, name, type, user);
  if (room_invite->parsed()) return cmd_room_invite(config_path, room, user, by);
  if (send->parsed()) return cmd_send(config_path, room, user, text);
  if (tail->parsed()) return cmd_tail(config_path, after, follow);
  if (demo->parsed()) return cmd_demo(keep);
  if (run->parsed()) return cmd_run(config_path);
  if (keygen->parsed()) return cmd_keygen(config_path, new_key, forget_previous);
  if (status->parsed()) return cmd_status(config_path);
  if (records->parsed()) return cmd_dns_records(config_path);
  if (reload->parsed()) return cmd_reload(config_path);
  if (resolve->parsed()) return cmd_resolve(config_path, domain);
  if (check->parsed()) return cmd_check(config_path, json);
  if (hub->parsed()) return cmd_hub(config_path);
  return exit_error;
}

}  // namespace fedrelay::app
