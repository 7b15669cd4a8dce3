// Content hashes: BLAKE2b-256 (file ids, digests of request bodies).
#pragma once

#include <memory>
#include <string_view>

#include "crypto/keys.hpp"

namespace fedrelay::crypto {

/// BLAKE2b-256 of `data` in one go.
hash256 blake2b_256(std::string_view data);

/// BLAKE2b-256 over data that arrives in pieces (streamed uploads).
class blake2b_stream {
 public:
  blake2b_stream();
  ~blake2b_stream();
  blake2b_stream(blake2b_stream&&) noexcept;
  blake2b_stream& operator=(blake2b_stream&&) noexcept;
  void update(std::string_view data);
  /// The digest of everything passed to update() since construction or the last
  /// finish(); the stream then starts over, empty.
  hash256 finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace fedrelay::crypto
