#pragma once
// JSON Patch (RFC 6902) on the google.protobuf.Value document model: the patch that turns one
// document into another (what the admission webhook answers) and applying a patch (what the API
// server does with that answer; tests use it to check both injection paths agree).

#include <google/protobuf/struct.pb.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace remora::control {

// The JSON Pointer (RFC 6901) reference token for `key`: "~" becomes "~0", "/" becomes "~1".
std::string escapePointerToken(std::string_view key);

// A JSON Patch (a list of {op, path, value} objects) that turns `from` into `to`. Only "add",
// "remove" and "replace" are used. Objects are compared member by member. Lists are compared
// element by element when `to` keeps every element of `from` in order (matched by equal value,
// or for objects with a "name" member by that name, as Kubernetes lists of containers, env
// variables and ports are keyed) and only inserts elements; any other change to a list replaces
// it whole. Equal documents give an empty list.
google::protobuf::ListValue diffJson(const google::protobuf::Value& from,
                                     const google::protobuf::Value& to);

// Applies `patch` to `doc` in order (ops "add", "remove", "replace", "test", "move", "copy").
// Errors (kInvalidArgument, naming the op index and path): a malformed op, a path that does not
// resolve, a failed "test". On error `doc` may be partly patched.
common::Status applyJsonPatch(const google::protobuf::ListValue& patch,
                              google::protobuf::Value* doc);

// The member `key` of object `v`; nullptr when `v` is null, not an object or has no such key.
const google::protobuf::Value* jsonMember(const google::protobuf::Value* v, std::string_view key);

// The value at JSON Pointer `pointer` (RFC 6901: "" is `doc` itself, "/a/0/b~1c" walks object
// members and list indexes, "~1" is "/" and "~0" is "~"); nullptr when it does not resolve.
const google::protobuf::Value* findPointer(const google::protobuf::Value& doc,
                                           std::string_view pointer);
google::protobuf::Value* findPointer(google::protobuf::Value* doc, std::string_view pointer);

// True when the two documents are equal (numbers compared as doubles, object members by key).
bool jsonEqual(const google::protobuf::Value& a, const google::protobuf::Value& b);

}  // namespace remora::control
