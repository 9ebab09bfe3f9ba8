// relais::Role <-> the stored schema::Role. They have the same enumerants in
// the same order (util/role.cc checks it at compile time), so they convert by
// value.
#pragma once

#include "relais.capnp.h"
#include "relais/role.h"

namespace relais::codec {

inline schema::Role ToSchemaRole(Role r) { return static_cast<schema::Role>(r); }
inline Role FromSchemaRole(schema::Role r) { return static_cast<Role>(r); }

}  // namespace relais::codec
