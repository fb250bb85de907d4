#include "common/cli_flags.h"

#include <cctype>

namespace remora::common {

std::string flagEnvName(const std::string& prefix, const std::string& flag) {
  std::string out = prefix;
  for (char c : flag) {
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

void splitFlag(const std::string& arg, std::string& name, std::string& value, bool& has_value) {
  name = arg.substr(2);
  value.clear();
  has_value = false;
  if (size_t eq = name.find('='); eq != std::string::npos) {
    value = name.substr(eq + 1);
    name.resize(eq);
    has_value = true;
  }
}

}  // namespace remora::common
