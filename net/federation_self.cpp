#include "net/federation_self.hpp"

#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/request_auth.hpp"
#include "actors/self_check.hpp"
#include "actors/transaction.hpp"
#include "net/api_support.hpp"

namespace fedrelay::net {

request_handler make_self_check_handler(std::string own_domain,
                                        std::shared_ptr<const crypto::identity> identity,
                                        std::chrono::milliseconds clock_skew) {
  return [own_domain, identity, clock_skew](http_request&& req, responder respond) {
    auto nonce = req.query("nonce").value_or("");
    if (!actors::valid_nonce(nonce)) {
      respond(error_reply(400, "nonce must be 16 to 128 hex characters"));
      return;
    }
    auto origin = req.header(actors::origin_header);
    if (origin.empty()) {
      respond(error_reply(400, "missing header " + std::string{actors::origin_header}));
      return;
    }
    // Only the holder of this node's key asks: the answer is for `fedrelay check`.
    if (origin != own_domain) {
      respond(error_reply(403, "federation.self answers only " + own_domain));
      return;
    }
    const auto& key = identity->public_key();
    auto err = actors::verify_request(
        std::string_view{reinterpret_cast<const char*>(key.data()), key.size()}, req.method,
        req.target, req.header(actors::time_header), req.body, req.header(actors::signature_header),
        clock_skew, req.header(actors::destination_header), own_domain);
    if (err) {
      respond(error_reply(401, actors::detail_of(err)));
      return;
    }
    respond(success_reply(
        nlohmann::json{{"domain", own_domain},
                       {"signature", actors::sign_self_check(*identity, own_domain, nonce)}}
            .dump()));
  };
}

}  // namespace fedrelay::net
