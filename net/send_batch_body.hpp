// The body of chat.sendBatch in its common shape, read without building a JSON document:
// a batch of a hundred messages made a document of hundreds of objects on the io thread,
// only to be taken apart again.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fedrelay::net {

/// One chat.send body of a batch.
struct send_batch_item {
  std::string room_id;
  std::string user;
  std::string text;
  std::string id;  // empty when the message has none
};

/// The messages of `body` when it is a JSON object whose "messages" is an array of 1 to
/// `max_messages` objects, each with "room_id", "user" and "text" as non-empty strings
/// and "id", if there, a string, each of those keys once (any other member is passed
/// over, as the general path does). nullopt for anything else: the general path then
/// reads the body and answers as it always has, errors included.
std::optional<std::vector<send_batch_item>> read_plain_send_batch(std::string_view body,
                                                                  size_t max_messages);

}  // namespace fedrelay::net
