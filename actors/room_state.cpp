#include "actors/room_state.hpp"

#include "actors/errc.hpp"

namespace fedrelay::actors {
namespace {

using json = nlohmann::json;

[[nodiscard]] caf::error refuse(std::string reason) {
  return caf::make_error(errc::rejected, std::move(reason));
}

std::string role_of(const room_state& s, const std::string& user) {
  auto i = s.members.find(user);
  return i == s.members.end() ? std::string{} : i->second;
}

bool moderates(const room_state& s, const std::string& user) {
  auto role = role_of(s, user);
  return role == "owner" || role == "moderator";
}

bool is_member(const room_state& s, const std::string& user) {
  return s.members.count(user) > 0;
}

[[nodiscard]] caf::error need_member_target(const room_state& s, const std::string& target) {
  if (!is_member(s, target)) return refuse("user " + target + " is not a member");
  return {};
}

[[nodiscard]] caf::error may_post(const room_state& s, const room_event& e) {
  if (s.muted.count(e.user) > 0) return refuse("user is muted");
  if (s.type == "broadcast" && !moderates(s, e.user))
    return refuse("only owners and moderators post in a broadcast room");
  return {};
}

/// The author of message `target` ("" once deleted), or nullopt when no author is known.
std::optional<std::string> author_of(const room_state& s, const std::string& target,
                                     const author_lookup& stored) {
  if (auto i = s.authors.find(target); i != s.authors.end()) return i->second;
  if (stored) return stored(target);
  return std::nullopt;
}

/// The author of message `target`; refused when there is no such message. nullopt when
/// this state cannot tell: a member's state that came with the most recent authors only
/// (room_state::authors_complete), where the host, which knows them all, judges.
[[nodiscard]] caf::expected<std::optional<std::string>> need_message(const room_state& s,
                                                                     const std::string& target,
                                                                     const author_lookup& stored) {
  auto author = author_of(s, target, stored);
  if (author && !author->empty()) return author;
  if (!author && !s.authors_complete) return std::optional<std::string>{};
  return refuse("no such message " + target);
}

/// Whether a member other than `user` is an owner.
bool other_owner(const room_state& s, const std::string& user) {
  return std::any_of(s.members.begin(), s.members.end(),
                     [&](const auto& m) { return m.second == "owner" && m.first != user; });
}

/// The rules of each type once the room exists and the user is a member.
[[nodiscard]] caf::error validate_member_event(const room_state& s, const room_event& e,
                                               const author_lookup& stored) {
  switch (e.type) {
    case event_type::room_created:
      return refuse("room already created");
    case event_type::user_joined:
      return refuse("already a member");
    case event_type::user_invited: {
      if (s.type == "direct") return refuse("no invites in a direct room");
      if (!moderates(s, e.user)) return refuse("only owners and moderators may invite");
      auto target = content_text(e, "target");
      if (is_member(s, target)) return refuse("user " + target + " is already a member");
      return {};
    }
    case event_type::user_left:
      // Only owners change roles and delete the room: a last owner who left the others
      // behind would leave a room nobody could ever manage again. A direct room has nothing
      // to manage, and either of its two may leave it.
      if (s.type != "direct" && role_of(s, e.user) == "owner" && s.members.size() > 1 &&
          !other_owner(s, e.user))
        return refuse(
            "the room's last owner may not leave while others are members: make another member "
            "owner first");
      return {};
    case event_type::user_removed: {
      if (!moderates(s, e.user)) return refuse("only owners and moderators may remove users");
      auto target = content_text(e, "target");
      if (auto err = need_member_target(s, target)) return err;
      if (role_of(s, target) == "owner" && role_of(s, e.user) != "owner")
        return refuse("only an owner may remove an owner");
      // An owner removing herself leaves as user.left does, by the same rule.
      if (s.type != "direct" && role_of(s, target) == "owner" && s.members.size() > 1 &&
          !other_owner(s, target))
        return refuse(
            "the room's last owner may not be removed while others are members: make another "
            "member owner first");
      return {};
    }
    case event_type::role_changed: {
      if (role_of(s, e.user) != "owner") return refuse("only an owner may change roles");
      auto target = content_text(e, "target");
      if (auto err = need_member_target(s, target)) return err;
      // Only owners change roles and delete the room: without one, nobody ever could again.
      if (role_of(s, target) == "owner" && content_text(e, "role") != "owner" &&
          !other_owner(s, target))
        return refuse("the room's last owner keeps the role: make another member owner first");
      return {};
    }
    case event_type::message_sent:
    case event_type::file_shared:
      return may_post(s, e);
    case event_type::message_edited: {
      if (s.muted.count(e.user) > 0) return refuse("user is muted");
      auto author = need_message(s, content_text(e, "target"), stored);
      if (!author) return author.error();
      if (*author && **author != e.user) return refuse("only the author may edit a message");
      return {};
    }
    case event_type::message_deleted: {
      auto author = need_message(s, content_text(e, "target"), stored);
      if (!author) return author.error();
      if (*author && **author != e.user && !moderates(s, e.user))
        return refuse("only the author, owners and moderators may delete a message");
      return {};
    }
    case event_type::reaction_set:
    case event_type::reaction_unset:
      if (s.muted.count(e.user) > 0) return refuse("user is muted");
      if (auto author = need_message(s, content_text(e, "target"), stored); !author)
        return author.error();
      return {};
    case event_type::read_receipt:
      // `up_to` is not checked: a read up to a message deleted meanwhile still counts, and
      // a member whose state came in a snapshot knows no deleted message to tell it by.
      return {};
    case event_type::notification:
      return need_member_target(s, content_text(e, "to"));
    case event_type::user_muted:
    case event_type::user_unmuted: {
      bool mute = e.type == event_type::user_muted;
      if (!moderates(s, e.user))
        return refuse(mute ? "only owners and moderators may mute"
                           : "only owners and moderators may unmute");
      auto target = content_text(e, "target");
      if (auto err = need_member_target(s, target)) return err;
      if (mute == (s.muted.count(target) > 0))
        return refuse("user " + target + (mute ? " is already muted" : " is not muted"));
      return {};
    }
    case event_type::room_deleted:
      if (role_of(s, e.user) != "owner") return refuse("only an owner may delete the room");
      return {};
  }
  return refuse("unknown event type");
}

[[nodiscard]] caf::error validate_creation(const room_state& s, const room_event& e) {
  if (domain_of_id(e.room_id) != e.origin)
    return refuse("a room is created by its host " + std::string{domain_of_id(e.room_id)});
  if (content_text(e, "room_type") == "direct" && content_text(e, "with") == e.user)
    return refuse("a direct room is between two users");
  return {};
}

// Every change to room_state::members goes through these three, which keep
// members_per_domain in step with it.

void add_member(room_state& s, const std::string& user, std::string role) {
  if (s.members.emplace(user, std::move(role)).second)
    ++s.members_per_domain[std::string{domain_of_user(user)}];
}

void set_member(room_state& s, const std::string& user, std::string role) {
  if (auto i = s.members.find(user); i != s.members.end())
    i->second = std::move(role);
  else
    add_member(s, user, std::move(role));
}

void drop_member(room_state& s, const std::string& user) {
  if (s.members.erase(user) == 0) return;
  auto i = s.members_per_domain.find(domain_of_user(user));
  if (i != s.members_per_domain.end() && --i->second == 0) s.members_per_domain.erase(i);
}

}  // namespace

caf::error validate(const room_state& s, const room_event& e, const author_lookup& stored) {
  if (domain_of_user(e.user) != e.origin)
    return refuse("user " + e.user + " is not of origin " + e.origin);
  if (!s.created()) {
    if (e.type != event_type::room_created) return refuse("no such room");
    return validate_creation(s, e);
  }
  if (s.deleted) return refuse("room deleted");
  if (e.type == event_type::user_joined) {
    if (is_member(s, e.user)) return refuse("already a member");
    if (s.type != "public") return refuse("the room is invite only");
    return {};
  }
  if (e.type != event_type::room_created && !is_member(s, e.user)) return refuse("not a member");
  return validate_member_event(s, e, stored);
}

void apply(room_state& s, const room_event& e) {
  switch (e.type) {
    case event_type::room_created:
      s.room_id = e.room_id;
      s.name = content_text(e, "name");
      s.type = content_text(e, "room_type");
      s.host = std::string{domain_of_id(e.room_id)};
      set_member(s, e.user, "owner");
      if (s.type == "direct") set_member(s, content_text(e, "with"), "member");
      break;
    case event_type::user_invited:
      add_member(s, content_text(e, "target"), "member");
      break;
    case event_type::user_joined:
      add_member(s, e.user, "member");
      break;
    case event_type::user_left:
      drop_member(s, e.user);
      s.muted.erase(e.user);
      break;
    case event_type::user_removed:
      drop_member(s, content_text(e, "target"));
      s.muted.erase(content_text(e, "target"));
      break;
    case event_type::role_changed:
      set_member(s, content_text(e, "target"), content_text(e, "role"));
      break;
    case event_type::message_sent:
    case event_type::file_shared:
      s.authors[e.id] = e.user;
      break;
    case event_type::message_deleted:
      s.authors.erase(content_text(e, "target"));
      break;
    case event_type::user_muted:
      s.muted.insert(content_text(e, "target"));
      break;
    case event_type::user_unmuted:
      s.muted.erase(content_text(e, "target"));
      break;
    case event_type::room_deleted:
      s.deleted = true;
      break;
    case event_type::message_edited:
    case event_type::reaction_set:
    case event_type::reaction_unset:
    case event_type::read_receipt:
    case event_type::notification:
      break;
  }
  if (e.seq > s.last_seq) s.last_seq = e.seq;
}

bool changes_stored_state(event_type type) {
  switch (type) {
    case event_type::message_sent:
    case event_type::file_shared:
    case event_type::message_deleted:
    case event_type::message_edited:
    case event_type::reaction_set:
    case event_type::reaction_unset:
    case event_type::read_receipt:
    case event_type::notification:
      return false;
    default:
      return true;
  }
}

std::vector<std::string> members_changed_by(const room_event& e) {
  switch (e.type) {
    case event_type::room_created:
      if (content_text(e, "room_type") == "direct") return {e.user, content_text(e, "with")};
      return {e.user};
    case event_type::user_joined:
    case event_type::user_left:
      return {e.user};
    case event_type::user_invited:
    case event_type::user_removed:
    case event_type::role_changed:
      return {content_text(e, "target")};
    default:
      return {};
  }
}

bool has_members_on(const room_state& s, std::string_view domain) {
  return s.members_per_domain.find(domain) != s.members_per_domain.end();
}

json encode_state(const room_state& s, bool with_authors, bool with_members) {
  json doc = {{"room_id", s.room_id},  {"name", s.name},   {"type", s.type},
              {"host", s.host},        {"muted", s.muted}, {"deleted", s.deleted},
              {"last_seq", s.last_seq}};
  if (with_members) doc["members"] = s.members;
  if (with_authors) {
    doc["authors"] = json::object();
    for (const auto& [id, user] : s.authors)
      if (!user.empty()) doc["authors"][id] = user;
  }
  // Written only when false, so states without it (earlier versions) read as complete.
  if (!s.authors_complete) doc["authors_complete"] = false;
  return doc;
}

caf::expected<room_state> decode_state(const json& doc) {
  auto bad = [](const std::string& what) {
    return caf::make_error(errc::bad_request, "room state: " + what);
  };
  if (!doc.is_object()) return bad("not a JSON object");
  room_state s;
  for (auto [key, out] : {std::pair{"room_id", &s.room_id}, std::pair{"name", &s.name},
                          std::pair{"type", &s.type}, std::pair{"host", &s.host}}) {
    auto i = doc.find(key);
    if (i == doc.end() || !i->is_string())
      return bad(std::string{"\""} + key + "\" must be a string");
    *out = i->get<std::string>();
  }
  if (!valid_room_id(s.room_id)) return bad("\"room_id\" is not a room id");
  if (s.type != "public" && s.type != "private" && s.type != "broadcast" && s.type != "direct")
    return bad("\"type\" is not a room type");
  auto members = doc.find("members");
  if (members == doc.end() || !members->is_object()) return bad("\"members\" must be an object");
  for (const auto& [user, role] : members->items()) {
    if (!valid_qualified_user(user) || !role.is_string())
      return bad("member " + user + " is not name@domain with a role");
    add_member(s, user, role.get<std::string>());
  }
  auto muted = doc.find("muted");
  if (muted == doc.end() || !muted->is_array()) return bad("\"muted\" must be an array");
  for (const auto& user : *muted) {
    if (!user.is_string()) return bad("\"muted\" must hold users");
    s.muted.insert(user.get<std::string>());
  }
  auto deleted = doc.find("deleted");
  if (deleted == doc.end() || !deleted->is_boolean()) return bad("\"deleted\" must be a boolean");
  s.deleted = deleted->get<bool>();
  auto last = doc.find("last_seq");
  if (last == doc.end() || !last->is_number_unsigned()) return bad("\"last_seq\" must be unsigned");
  s.last_seq = last->get<uint64_t>();
  if (auto authors = doc.find("authors"); authors != doc.end()) {
    if (!authors->is_object()) return bad("\"authors\" must be an object");
    for (const auto& [id, user] : authors->items()) {
      if (!user.is_string()) return bad("\"authors\" must map event ids to users");
      s.authors.emplace(id, user.get<std::string>());
    }
  }
  if (auto complete = doc.find("authors_complete"); complete != doc.end()) {
    if (!complete->is_boolean()) return bad("\"authors_complete\" must be a boolean");
    s.authors_complete = complete->get<bool>();
  }
  return s;
}

json info_view(const room_state& s, std::string_view own) {
  json members = json::object();
  for (const auto& [user, role] : s.members) members[localize_user(user, own)] = role;
  json muted = json::array();
  for (const auto& user : s.muted) muted.push_back(localize_user(user, own));
  return {{"room_id", s.room_id}, {"name", s.name},        {"type", s.type},
          {"host", s.host},       {"members", members},    {"muted", muted},
          {"deleted", s.deleted}, {"last_seq", s.last_seq}};
}

}  // namespace fedrelay::actors
