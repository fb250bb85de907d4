#pragma once
// Writing a whole file so that readers see the old contents or the new, never a part: the text
// goes to PATH.tmp (created with `mode`, flushed to disk), which is then renamed over PATH.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace remora::common {

// The error names the path and the failed step ("cannot create /x.tmp: Permission denied").
Status writeFileAtomically(const std::string& path, std::string_view contents, mode_t mode = 0644);

}  // namespace remora::common
