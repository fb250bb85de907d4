#pragma once
// The x-request-id the proxy makes for a request that came without one.

#include <cstdint>
#include <string>

namespace remora::sidecar {

// Writes a random UUID in the version 4 layout ("xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx", lowercase
// hex, V one of 8 9 a b) made from two random words into `out`, replacing its contents. Costs a
// table lookup per byte, no printf, no allocation once `out` has the capacity.
void formatRequestId(uint64_t a, uint64_t b, std::string& out);

}  // namespace remora::sidecar
