// The wire format, version 1. Encoding splices the stored event JSON into the array as it
// is, so a batch of events is never parsed again on the way out; decoding (simdjson, one
// pass) validates every field, since the bytes come from another node, and hands each
// event on as the text it was sent as, with what routing needs of it.
#include "actors/transaction.hpp"

#include <optional>
#include <utility>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "actors/errc.hpp"
#include "actors/json_parse.hpp"
#include "actors/kept_parsers.hpp"
#include "actors/room_event.hpp"
#include "crypto/keys.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;

// nlohmann parses iteratively but dumps recursively: a peer must not be able to make
// us recurse a million levels deep, so nesting is bounded before parsing.
constexpr size_t max_depth = 64;

std::string json_string(std::string_view text) {
  // Invalid UTF-8 must not throw: it is replaced, and the receiver sees U+FFFD.
  return json(std::string{text}).dump(-1, ' ', false, json::error_handler_t::replace);
}

caf::error bad(const std::string& what, const std::string& detail) {
  return caf::make_error(errc::bad_request, what + ": " + detail);
}

}  // namespace

std::string encode_transaction(const transaction& t, size_t room_in_front) {
  size_t size = room_in_front + 128 + t.id.size() + t.origin.size() + t.destination.size();
  for (const auto& e : t.events) size += e.size() + 1;
  std::string out;
  out.reserve(size);
  out.append(room_in_front, '\0');
  out += "{\"version\":";
  out += std::to_string(t.version);
  out += ",\"id\":";
  out += json_string(t.id);
  out += ",\"origin\":";
  out += json_string(t.origin);
  out += ",\"destination\":";
  out += json_string(t.destination);
  out += ",\"created_ms\":";
  out += std::to_string(t.created_ms);
  out += ",\"events\":[";
  for (size_t i = 0; i < t.events.size(); ++i) {
    if (i > 0) out += ',';
    out += t.events[i];
  }
  out += "]}";
  return out;
}

namespace {

namespace sj = simdjson;
namespace od = simdjson::ondemand;

static_assert(transaction_read_padding >= sj::SIMDJSON_PADDING);

// Decoding is one pass of simdjson's on-demand parser: simdjson checks the UTF-8 of the
// whole text before anything is read, and the pass then reads every value (on-demand
// parsing only checks what it is asked for), so the text is refused if any of it is not
// JSON. Each event is kept as its own slice of the text, never dumped again. A key that
// repeats counts as nlohmann (which later stages parse with) reads it: the last one.

/// An integer literal as nlohmann classifies it: negative ones as int64, others as
/// uint64; a fraction, an exponent or more than 64 bits make a number no integer.
struct integer_literal {
  bool is_signed = false;
  int64_t s = 0;
  uint64_t u = 0;
};

/// A field of the transaction: whether it is there, and its value when it has the type.
template <class T>
struct field {
  bool present = false;
  std::optional<T> value;
};

sj::error_code read_value(od::value& v, size_t depth);

/// Calls `on_field(key, value)` for each field of `v`, an object at nesting `depth`.
template <class F>
sj::error_code read_object(od::value& v, size_t depth, F&& on_field) {
  if (depth > max_depth) return sj::DEPTH_ERROR;
  od::object object;
  if (auto err = v.get_object().get(object)) return err;
  for (auto f : object) {
    std::string_view key;
    if (auto err = f.unescaped_key().get(key)) return err;
    od::value child;
    if (auto err = f.value().get(child)) return err;
    if (auto err = on_field(key, child)) return err;
  }
  return sj::SUCCESS;
}

/// Reads a number; `out` is set when it is an integer literal.
sj::error_code read_number(od::value& v, std::optional<integer_literal>& out) {
  out.reset();
  od::number_type type;
  if (auto err = v.get_number_type().get(type)) return err;
  if (type != od::number_type::floating_point_number) {
    // A failed get does not move the parser on, so the number is then read as a double.
    integer_literal n;
    n.is_signed = v.raw_json_token().front() == '-';
    if (n.is_signed ? !v.get_int64().get(n.s) : !v.get_uint64().get(n.u)) {
      out = n;
      return sj::SUCCESS;
    }
  }
  double ignored;
  return v.get_double().get(ignored);
}

sj::error_code read_value(od::value& v, size_t depth) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  switch (type) {
    case od::json_type::object:
      return read_object(v, depth, [depth](std::string_view, od::value& child) {
        return read_value(child, depth + 1);
      });
    case od::json_type::array: {
      if (depth > max_depth) return sj::DEPTH_ERROR;
      od::array array;
      if (auto err = v.get_array().get(array)) return err;
      for (auto element : array) {
        od::value child;
        if (auto err = element.get(child)) return err;
        if (auto err = read_value(child, depth + 1)) return err;
      }
      return sj::SUCCESS;
    }
    case od::json_type::number: {
      std::optional<integer_literal> ignored;
      return read_number(v, ignored);
    }
    case od::json_type::string: {
      std::string_view ignored;
      return v.get_string().get(ignored);
    }
    case od::json_type::boolean: {
      bool ignored;
      return v.get_bool().get(ignored);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null)) return err;
      return is_null ? sj::SUCCESS : sj::N_ATOM_ERROR;
    }
  }
  return sj::TAPE_ERROR;
}

/// Reads a value that should be a string: `out` holds it, or nothing when it is not one.
sj::error_code read_string(od::value& v, size_t depth, std::optional<std::string>& out) {
  out.reset();
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::string) return read_value(v, depth);
  std::string_view s;
  if (auto err = v.get_string().get(s)) return err;
  out.emplace(s);
  return sj::SUCCESS;
}

/// Reads a value that should be an integer (see integer_literal).
sj::error_code read_integer(od::value& v, size_t depth, std::optional<integer_literal>& out) {
  out.reset();
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::number) return read_value(v, depth);
  return read_number(v, out);
}

/// Marks `f` present and reads `v` into it with `read` (read_string, read_integer, ...).
template <class T, class Read>
sj::error_code read_into(field<T>& f, Read read, od::value& v, size_t depth) {
  f.present = true;
  return read(v, depth, f.value);
}

/// A field that must be an array: whether it is there, and whether it is one.
struct array_field {
  bool present = false;
  bool is_array = false;
};

/// Marks `f` present and, when `v` is an array, reads it with `read_array()`; any other
/// value is read (so the text is checked) and left.
template <class ReadArray>
sj::error_code read_array_into(array_field& f, od::value& v, size_t depth, ReadArray read_array) {
  f.present = true;
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  f.is_array = type == od::json_type::array;
  if (!f.is_array) return read_value(v, depth);
  return read_array();
}

/// Why a field that must be an array is refused; none when it is one.
caf::error judge_array(const array_field& f, const char* name, const std::string& what) {
  if (!f.present) return bad(what, std::string{"missing field \""} + name + "\"");
  if (!f.is_array) return bad(what, std::string{"field \""} + name + "\" is not an array");
  return {};
}

/// Visits the elements of the array `v` (at nesting `depth`) in order: an object with
/// `on_object(index, element)`; any other value is read (so the text is checked) and then
/// reported with `on_other(index)`.
template <class OnObject, class OnOther>
sj::error_code for_each_element(od::value& v, size_t depth, OnObject&& on_object,
                                OnOther&& on_other) {
  od::array array;
  if (auto err = v.get_array().get(array)) return err;
  size_t index = 0;
  for (auto element : array) {
    od::value e;
    if (auto err = element.get(e)) return err;
    auto at = index++;
    od::json_type type;
    if (auto err = e.type().get(type)) return err;
    if (type == od::json_type::object) {
      if (auto err = on_object(at, e)) return err;
      continue;
    }
    if (auto err = read_value(e, depth + 1)) return err;
    on_other(at);
  }
  return sj::SUCCESS;
}

/// What routing needs of an event: the fields the room manager's run_room reads.
struct event_fields {
  std::optional<std::string> id;
  std::optional<std::string> kind;
  std::optional<std::string> room_id;  // "event"."room_id", when "event" is an object
};

sj::error_code read_event(od::value& v, size_t depth, event_fields& e) {
  return read_object(v, depth, [&](std::string_view key, od::value& child) -> sj::error_code {
    if (key == "id") return read_string(child, depth + 1, e.id);
    if (key == "kind") return read_string(child, depth + 1, e.kind);
    if (key != "event") return read_value(child, depth + 1);
    e.room_id.reset();
    od::json_type type;
    if (auto err = child.type().get(type)) return err;
    if (type != od::json_type::object) return read_value(child, depth + 1);
    return read_object(child, depth + 1, [&](std::string_view inner, od::value& grandchild) {
      if (inner == "room_id") return read_string(grandchild, depth + 2, e.room_id);
      return read_value(grandchild, depth + 2);
    });
  });
}

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// The "events" array, read into `t`; `problem` names the first event that is refused.
sj::error_code read_events(od::document& doc, od::value& v, transaction& t, std::string& problem) {
  constexpr size_t depth = 2;  // the array in the transaction object
  t.events.clear();
  t.event_ids.clear();
  t.event_rooms.clear();
  problem.clear();
  auto where = [](size_t index) { return "events[" + std::to_string(index) + "]"; };
  return for_each_element(
      v, depth,
      [&](size_t index, od::value& e) -> sj::error_code {
        const char* start = e.raw_json_token().data();
        event_fields fields;
        if (auto err = read_event(e, depth + 1, fields)) return err;
        if (!fields.id || fields.id->empty()) {
          if (problem.empty()) problem = where(index) + " has no string \"id\"";
          return sj::SUCCESS;
        }
        // The parser now stands on the ',' or ']' after the event.
        const char* end = nullptr;
        if (auto err = doc.current_location().get(end)) return err;
        std::string_view slice(start, static_cast<size_t>(end - start));
        while (!slice.empty() && is_json_space(slice.back())) slice.remove_suffix(1);
        t.events.emplace_back(slice);
        t.event_ids.push_back(std::move(*fields.id));
        // What run_room (room_manager.cpp) routes by: a sequenced event with a string room id.
        bool sequenced = fields.kind == event_kind && fields.room_id;
        t.event_rooms.push_back(sequenced ? std::move(*fields.room_id) : std::string{});
        return sj::SUCCESS;
      },
      [&](size_t index) {
        if (problem.empty()) problem = where(index) + " is not a JSON object";
      });
}

caf::error refused_json(sj::error_code err, const std::string& what) {
  if (err == sj::UTF8_ERROR) return bad(what, "not valid UTF-8");
  if (err == sj::DEPTH_ERROR)
    return bad(what, "nested deeper than " + std::to_string(max_depth) + " levels");
  return bad(what, "not valid JSON");
}

/// Why a text that is not a JSON object is refused (rare: no need to be quick here).
caf::error not_an_object(std::string_view text, const std::string& what) {
  if (!nesting_within(text, max_depth))
    return bad(what, "nested deeper than " + std::to_string(max_depth) + " levels");
  return bad(what, json::accept(text.begin(), text.end()) ? "not a JSON object" : "not valid JSON");
}

/// The fields of a transaction object as one pass found them, judged in a fixed order.
struct transaction_fields {
  field<integer_literal> version;
  field<std::string> id;
  field<std::string> origin;
  field<std::string> destination;
  field<integer_literal> created_ms;
  array_field events;
  std::string event_problem;
};

/// The "version" field of a transaction or receipt, or why it is refused.
caf::expected<uint32_t> judge_version(const field<integer_literal>& f, const std::string& what) {
  if (!f.present) return bad(what, "missing field \"version\"");
  const auto& v = f.value;
  if (!v || v->is_signed || v->u > UINT32_MAX)
    return bad(what, "field \"version\" is not a version number");
  return static_cast<uint32_t>(v->u);
}

/// Why a field that must be a string is refused; none when it is one.
caf::error judge_string(const field<std::string>& f, const char* name, const std::string& what) {
  if (!f.present) return bad(what, std::string{"missing field \""} + name + "\"");
  if (!f.value) return bad(what, std::string{"field \""} + name + "\" is not a string");
  return {};
}

caf::error judge(const transaction_fields& f, transaction& t, const std::string& what) {
  auto version = judge_version(f.version, what);
  if (!version) return version.error();
  t.version = *version;
  const std::pair<const field<std::string>*, const char*> strings[] = {
      {&f.id, "id"}, {&f.origin, "origin"}, {&f.destination, "destination"}};
  for (const auto& [s, name] : strings)
    if (auto err = judge_string(*s, name, what)) return err;
  if (f.id.value->empty()) return bad(what, "field \"id\" is empty");
  // The receiver keeps each receipt under its transaction id for days (ids a node makes
  // are its domain and 32 hex digits).
  if (f.id.value->size() > max_transaction_id_bytes)
    return bad(what, "field \"id\" is longer than " + std::to_string(max_transaction_id_bytes) +
                         " bytes");
  t.id = *f.id.value;
  t.origin = *f.origin.value;
  t.destination = *f.destination.value;
  if (!f.created_ms.present) return bad(what, "missing field \"created_ms\"");
  const auto& c = f.created_ms.value;
  if (!c) return bad(what, "field \"created_ms\" is not an integer");
  t.created_ms = c->is_signed ? c->s : static_cast<int64_t>(c->u);
  if (auto err = judge_array(f.events, "events", what)) return err;
  if (!f.event_problem.empty()) return bad(what, f.event_problem);
  return {};
}

/// Reads one field of the transaction object into `f` (and the events into `t`).
sj::error_code read_transaction_field(od::document& doc, std::string_view key, od::value& v,
                                      transaction& t, transaction_fields& f) {
  constexpr size_t depth = 2;  // the values of the transaction object's fields
  if (key == "version") return read_into(f.version, read_integer, v, depth);
  if (key == "id") return read_into(f.id, read_string, v, depth);
  if (key == "origin") return read_into(f.origin, read_string, v, depth);
  if (key == "destination") return read_into(f.destination, read_string, v, depth);
  if (key == "created_ms") return read_into(f.created_ms, read_integer, v, depth);
  if (key != "events") return read_value(v, depth);
  return read_array_into(f.events, v, depth,
                         [&] { return read_events(doc, v, t, f.event_problem); });
}

/// Reads `text`, which must be one JSON object, in one pass, calling
/// `on_field(doc, key, value)` for each of its fields; refuses it as `what` when it is not
/// valid UTF-8, JSON or an object, or when on_field fails. `allocated` is what
/// decode_transaction says it is: with padding enough the text is not copied.
template <class F>
caf::error read_document(std::string_view text, size_t allocated, const std::string& what,
                         F&& on_field) {
  // The parser is in use until this returns: on_field must not read another document.
  od::parser own;
  auto& parser = ondemand_parser_for(text.size(), own);
  std::optional<sj::padded_string> copy;
  sj::padded_string_view padded;
  if (allocated >= text.size() + sj::SIMDJSON_PADDING) {
    padded = sj::padded_string_view(text, allocated);
  } else {
    copy.emplace(text);
    padded = *copy;
  }
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return refused_json(err, what);
  od::json_type type;
  if (auto err = doc.type().get(type)) return refused_json(err, what);
  if (type != od::json_type::object) return not_an_object(text, what);
  od::object root;
  if (auto err = doc.get_object().get(root)) return refused_json(err, what);
  for (auto member : root) {
    std::string_view key;
    od::value v;
    auto err = member.unescaped_key().get(key);
    if (!err) err = member.value().get(v);
    if (!err) err = on_field(doc, key, v);
    if (err) return refused_json(err, what);
  }
  // Whatever follows the object (another value, a stray bracket) makes the text no JSON.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != sj::OUT_OF_BOUNDS) return bad(what, "not valid JSON");
  return {};
}

/// Reads a value that should be a boolean: `out` holds it, or nothing when it is not one.
sj::error_code read_bool(od::value& v, size_t depth, std::optional<bool>& out) {
  out.reset();
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::boolean) return read_value(v, depth);
  bool value = false;
  if (auto err = v.get_bool().get(value)) return err;
  out = value;
  return sj::SUCCESS;
}

/// The fields of one result of a receipt.
struct result_fields {
  field<std::string> id;
  field<bool> accepted;
  field<std::string> reason;
};

/// Judges one result, "results[<index>]" of a receipt, into `out`.
caf::error judge_result(result_fields& f, size_t index, std::vector<event_result>& out) {
  const std::string what = "receipt";
  auto where = "results[" + std::to_string(index) + "]";
  if (auto err = judge_string(f.id, "id", what + " " + where)) return err;
  if (!f.accepted.value) return bad(what, where + " has no boolean \"accepted\"");
  if (f.reason.present && !f.reason.value)
    return bad(what, where + " field \"reason\" is not a string");
  out.push_back({std::move(*f.id.value), *f.accepted.value,
                 f.reason.value ? std::move(*f.reason.value) : std::string{}});
  return {};
}

/// The fields of a receipt object as one pass found them, judged in a fixed order.
struct receipt_fields {
  field<integer_literal> version;
  field<std::string> transaction_id;
  array_field results;
  caf::error result_problem;  // the first result refused
};

/// The "results" array of a receipt, read into `out`.
sj::error_code read_results(od::value& v, std::vector<event_result>& out, caf::error& problem) {
  constexpr size_t depth = 2;  // the array in the receipt object
  return for_each_element(
      v, depth,
      [&](size_t index, od::value& item) -> sj::error_code {
        result_fields f;
        auto err = read_object(item, depth + 1, [&](std::string_view key, od::value& child) {
          if (key == "id") return read_into(f.id, read_string, child, depth + 2);
          if (key == "accepted") return read_into(f.accepted, read_bool, child, depth + 2);
          if (key == "reason") return read_into(f.reason, read_string, child, depth + 2);
          return read_value(child, depth + 2);
        });
        if (err) return err;
        if (!problem) problem = judge_result(f, index, out);
        return sj::SUCCESS;
      },
      [&](size_t index) {
        if (!problem)
          problem = bad("receipt", "results[" + std::to_string(index) + "] is not a JSON object");
      });
}

/// Reads one field of the receipt object into `f` (and the results into `r`).
sj::error_code read_receipt_field(std::string_view key, od::value& v, receipt& r,
                                  receipt_fields& f) {
  constexpr size_t depth = 2;  // the values of the receipt object's fields
  if (key == "version") return read_into(f.version, read_integer, v, depth);
  if (key == "transaction_id") return read_into(f.transaction_id, read_string, v, depth);
  if (key != "results") return read_value(v, depth);
  return read_array_into(f.results, v, depth, [&] {
    // A repeated "results" counts as its last copy, as nlohmann would read it.
    r.results.clear();
    f.result_problem = caf::error{};
    return read_results(v, r.results, f.result_problem);
  });
}

}  // namespace

caf::expected<transaction> decode_transaction(std::string_view text, size_t allocated) {
  const std::string what = "transaction";
  transaction t;
  transaction_fields f;
  if (auto err = read_document(text, allocated, what,
                               [&](od::document& doc, std::string_view key, od::value& v) {
                                 return read_transaction_field(doc, key, v, t, f);
                               }))
    return err;
  if (auto err = judge(f, t, what)) return err;
  return t;
}

std::string encode_receipt(const receipt& r) {
  // As dump() writes the object {"results":[{"accepted","id","reason"?}...],
  // "transaction_id","version"}, keys sorted, without building it: a receipt has a result
  // per event of the transaction.
  std::string out = R"({"results":[)";
  out.reserve(64 + r.results.size() * 96);
  for (size_t i = 0; i < r.results.size(); ++i) {
    const auto& result = r.results[i];
    if (i > 0) out += ',';
    out += result.accepted ? R"({"accepted":true,"id":)" : R"({"accepted":false,"id":)";
    append_json_string(out, result.id);
    if (!result.accepted) {
      out += R"(,"reason":)";
      append_json_string(out, result.reason);
    }
    out += '}';
  }
  out += R"(],"transaction_id":)";
  append_json_string(out, r.transaction_id);
  out += R"(,"version":)";
  out += std::to_string(r.version);
  out += '}';
  return out;
}

caf::expected<receipt> decode_receipt(std::string_view text) {
  const std::string what = "receipt";
  receipt r;
  receipt_fields f;
  if (auto err =
          read_document(text, 0, what, [&](od::document&, std::string_view key, od::value& v) {
            return read_receipt_field(key, v, r, f);
          }))
    return err;
  auto version = judge_version(f.version, what);
  if (!version) return version.error();
  r.version = *version;
  if (auto err = judge_string(f.transaction_id, "transaction_id", what)) return err;
  r.transaction_id = std::move(*f.transaction_id.value);
  if (auto err = judge_array(f.results, "results", what)) return err;
  if (f.result_problem) return f.result_problem;
  return r;
}

std::string make_transaction_id(const std::string& origin) {
  // Unique per origin, not secret, and growing with time: a receiver stores each receipt
  // under its transaction id, and keys that arrive in order keep its compactions short.
  return origin + ":" + time_ordered_hex();
}

std::string event_id_of(std::string_view event_json) {
  if (!nesting_within(event_json, max_depth)) return {};
  auto doc = json::parse(event_json.begin(), event_json.end(), nullptr, false);
  if (!doc.is_object()) return {};
  auto i = doc.find("id");
  if (i == doc.end() || !i->is_string()) return {};
  return i->get<std::string>();
}

}  // namespace fedrelay::actors
