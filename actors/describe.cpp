#include "actors/describe.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

#include <ctime>
#include <utility>
#include <vector>

#include "actors/errc.hpp"
#include "config/errc.hpp"
#include "crypto/errc.hpp"
#include "storage/errc.hpp"

namespace fedrelay::actors {
namespace {

template <class Errc>
std::string code_name(const caf::error& err) {
  return to_string(static_cast<Errc>(err.code()));
}

std::vector<std::pair<caf::atom_value, std::string (*)(uint8_t)>>& registered_names() {
  static std::vector<std::pair<caf::atom_value, std::string (*)(uint8_t)>> names;
  return names;
}

std::string code_of(const caf::error& err) {
  auto category = err.category();
  for (const auto& [registered, name_of] : registered_names())
    if (registered == category) return name_of(err.code());
  if (category == caf::atom("config")) return code_name<config::errc>(err);
  if (category == caf::atom("crypto")) return code_name<crypto::errc>(err);
  if (category == caf::atom("storage")) return code_name<storage::errc>(err);
  if (category == caf::atom("actors")) return code_name<actors::errc>(err);
  if (category == caf::atom("system")) return to_string(static_cast<caf::sec>(err.code()));
  return std::to_string(err.code());
}

}  // namespace

void register_error_names(caf::atom_value category, std::string (*name_of)(uint8_t code)) {
  registered_names().emplace_back(category, name_of);
}

std::string detail_of(const caf::error& err) {
  // CAF's name for it means nothing to a caller.
  if (err == caf::sec::request_receiver_down)
    return "the part of the node that takes this call has stopped (after a failure the node "
           "starts again by itself); try again";
  std::string out;
  const auto& ctx = err.context();
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (!ctx.match_element<std::string>(i)) continue;
    if (!out.empty()) out += "; ";
    out += ctx.get_as<std::string>(i);
  }
  return out.empty() ? code_of(err) : out;
}

std::string describe(const caf::error& err) {
  if (!err) return "no error";
  auto out = to_string(err.category()) + ": " + code_of(err);
  const auto& ctx = err.context();
  bool has_text = false;
  for (size_t i = 0; i < ctx.size(); ++i) has_text |= ctx.match_element<std::string>(i);
  if (has_text) out += ": " + detail_of(err);
  return out;
}

std::string utc_text(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace fedrelay::actors
