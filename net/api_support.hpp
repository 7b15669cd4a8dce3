// Shared pieces of the node's HTTP APIs: JSON replies in the {"success": ...} form of
// DESIGN.md section 8, the mapping of fedrelay errors to HTTP statuses, and route tables.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "net/http_server.hpp"
#include "net/http_types.hpp"

namespace fedrelay::net {

/// {"success":false,"error":message} with `status`.
http_response error_reply(unsigned status, std::string_view message);

/// The reply for a failed call: the HTTP status that fits the error's code, and its detail.
http_response error_reply(const caf::error& err);

/// The error handler of a call whose failure is answered with error_reply(err).
std::function<void(caf::error&)> fail_with(const responder& respond);

/// 200 with `json_object` (a JSON object without "success") plus "success": true.
http_response success_reply(std::string_view json_object, unsigned status = 200);
/// The same, taking the object's text over: "success" goes in where the text lies.
http_response success_reply(std::string&& json_object, unsigned status = 200);

/// One entry of a route table: a method and a path to a handler.
struct route {
  std::string method;
  std::string path;
  request_handler handler;
};

/// A handler that picks the route for each request: 404 for an unknown path, 405 for a
/// known path with another method.
request_handler route_table(std::vector<route> routes);

}  // namespace fedrelay::net
