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

std::vector<std::string> splitCommaList(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) {
      comma = value.size();
    }
    const size_t first = value.find_first_not_of(" \t", start);
    if (first < comma) {
      const size_t last = value.find_last_not_of(" \t", comma - 1);
      out.push_back(value.substr(first, last - first + 1));
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace remora::common
