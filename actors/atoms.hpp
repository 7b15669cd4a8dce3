// Every atom the actors speak, in one place (CAF 0.17 atoms are at most 10 characters).
#pragma once

#include <caf/atom.hpp>

namespace fedrelay::actors {

using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

// The peer transport: journal, peer queues and the receiving side.
using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using rejected_atom = caf::atom_constant<caf::atom("rejected")>;
using inbox_atom = caf::atom_constant<caf::atom("inbox")>;

// Rooms and the local bridge.
using catchup_atom = caf::atom_constant<caf::atom("catchup")>;
using gap_atom = caf::atom_constant<caf::atom("gap")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;

}  // namespace fedrelay::actors
