#pragma once
// `remoractl check PATH`: validate manifests offline.

#include <cstdio>
#include <string>

namespace remora::control::cli {

// Loads the manifests of `path` (a directory, recursively, or one file) and reports:
//  - all good: "ok: N objects in M files (services S, endpoint slices E, routes R, policies P)"
//    on `out` (", endpoints K" added before ")" when legacy Endpoints were read); returns 0;
//  - problems: every "FILE:LINE:COL: PATH: problem" line on `err`; returns 1;
//  - `path` missing or unreadable: one "remoractl: check: PATH: ..." line on `err`; returns 2.
int runCheck(const std::string& path, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
