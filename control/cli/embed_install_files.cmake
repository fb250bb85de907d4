# Writes OUTPUT, a C++ source holding the bytes of every file in FILES (absolute paths under
# ROOT, in the given order) as embeddedInstallFiles() of control/cli/install_command.h, so that
# `remoractl install` prints exactly what k8s/ held at build time. Run with
#   cmake -DROOT=... -DOUTPUT=... -DFILES="a;b" -P embed_install_files.cmake
set(body "")
set(table "")
set(index 0)
foreach(file ${FILES})
  file(RELATIVE_PATH rel "${ROOT}" "${file}")
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  if(hex_length EQUAL 0)
    message(FATAL_ERROR "${rel} is empty")
  endif()
  # Two hex digits per byte, 24 bytes a line.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n    " bytes "${bytes}")
  string(APPEND body "constexpr unsigned char kFile${index}[] = {\n    ${bytes}};\n")
  string(APPEND table "      {\"${rel}\", view(kFile${index}, sizeof(kFile${index}))},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated at build time by control/cli/embed_install_files.cmake from k8s/: do not edit.
#include \"control/cli/install_command.h\"

namespace remora::control::cli {
namespace {

std::string_view view(const unsigned char* bytes, size_t size) {
  return {reinterpret_cast<const char*>(bytes), size};
}

${body}
}  // namespace

const std::vector<InstallFile>& embeddedInstallFiles() {
  static const std::vector<InstallFile> files = {
${table}  };
  return files;
}

}  // namespace remora::control::cli
")
# Rewrite only on a change, so an unchanged k8s/ does not rebuild remoractl.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
