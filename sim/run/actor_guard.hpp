// No exception may escape an actor (it would abort the whole simulation): run the body, let SimGrid's
// own kill exception through, and turn everything else into a recorded run failure.
#pragma once

#include <simgrid/Exception.hpp>

#include <exception>
#include <string>

#include "sim/run/run_context.hpp"

namespace dipaco::sim {

template <class Body>
void guarded(RunContext& ctx, const std::string& who, Body&& body) {
  try {
    body();
  } catch (const simgrid::ForcefulKillException&) {
    throw;  // the host died: SimGrid unwinds the actor
  } catch (const std::exception& e) {
    ctx.fail(who + ": " + e.what());
  } catch (...) {
    ctx.fail(who + ": unknown error");
  }
}

}  // namespace dipaco::sim
