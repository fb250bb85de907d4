#include "control/json_patch.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace remora::control {

using common::Status;
using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

void addOp(ListValue* patch, const char* op, const std::string& path, const Value* value) {
  Struct* o = patch->add_values()->mutable_struct_value();
  (*o->mutable_fields())["op"].set_string_value(op);
  (*o->mutable_fields())["path"].set_string_value(path);
  if (value != nullptr) {
    (*o->mutable_fields())["value"] = *value;
  }
}

// The "name" member of a list element, or nullptr.
const std::string* nameOf(const Value& v) {
  if (!v.has_struct_value()) {
    return nullptr;
  }
  auto it = v.struct_value().fields().find("name");
  if (it == v.struct_value().fields().end() || !it->second.has_string_value()) {
    return nullptr;
  }
  return &it->second.string_value();
}

bool sameElement(const Value& a, const Value& b) {
  const std::string* na = nameOf(a);
  const std::string* nb = nameOf(b);
  if (na != nullptr && nb != nullptr) {
    return *na == *nb;
  }
  return jsonEqual(a, b);
}

void diffInto(const Value& from, const Value& to, const std::string& path, ListValue* patch);

// For each element of `to`, the index of the element of `from` it keeps, or -1 for an inserted
// one; empty when `to` is not `from` with insertions.
std::vector<int> alignInsertions(const ListValue& from, const ListValue& to) {
  std::vector<int> match(to.values_size(), -1);
  int j = 0;
  for (int i = 0; i < to.values_size() && j < from.values_size(); ++i) {
    if (sameElement(from.values(j), to.values(i))) {
      match[i] = j++;
    }
  }
  if (j != from.values_size()) {
    return {};
  }
  return match;
}

void diffLists(const ListValue& from, const ListValue& to, const std::string& path,
               ListValue* patch) {
  const std::vector<int> match = alignInsertions(from, to);
  if (match.empty() && to.values_size() > 0) {
    Value whole;
    *whole.mutable_list_value() = to;
    addOp(patch, "replace", path, &whole);
    return;
  }
  if (to.values_size() == 0 && from.values_size() > 0) {
    Value empty;
    empty.mutable_list_value();
    addOp(patch, "replace", path, &empty);
    return;
  }
  // Positions before i already hold their final elements, so index i is right for both an
  // insertion and a nested change.
  for (int i = 0; i < to.values_size(); ++i) {
    const std::string at = path + "/" + std::to_string(i);
    if (match[i] < 0) {
      addOp(patch, "add", at, &to.values(i));
    } else {
      diffInto(from.values(match[i]), to.values(i), at, patch);
    }
  }
}

void diffInto(const Value& from, const Value& to, const std::string& path, ListValue* patch) {
  if (from.has_struct_value() && to.has_struct_value()) {
    const auto& a = from.struct_value().fields();
    const auto& b = to.struct_value().fields();
    // Sorted keys, so that the patch does not depend on hash order.
    std::vector<std::string> keys;
    for (const auto& [k, v] : a) {
      keys.push_back(k);
    }
    for (const auto& [k, v] : b) {
      if (a.find(k) == a.end()) {
        keys.push_back(k);
      }
    }
    std::sort(keys.begin(), keys.end());
    for (const std::string& k : keys) {
      const std::string at = path + "/" + escapePointerToken(k);
      auto ia = a.find(k);
      auto ib = b.find(k);
      if (ib == b.end()) {
        addOp(patch, "remove", at, nullptr);
      } else if (ia == a.end()) {
        addOp(patch, "add", at, &ib->second);
      } else {
        diffInto(ia->second, ib->second, at, patch);
      }
    }
    return;
  }
  if (from.has_list_value() && to.has_list_value()) {
    diffLists(from.list_value(), to.list_value(), path, patch);
    return;
  }
  if (!jsonEqual(from, to)) {
    addOp(patch, "replace", path, &to);
  }
}

std::string unescapeToken(std::string_view t) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '~' && i + 1 < t.size() && (t[i + 1] == '0' || t[i + 1] == '1')) {
      out += t[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += t[i];
    }
  }
  return out;
}

// Splits a JSON Pointer into unescaped tokens; false when it is neither "" nor starts with "/".
bool splitPointer(std::string_view pointer, std::vector<std::string>* tokens) {
  tokens->clear();
  if (pointer.empty()) {
    return true;
  }
  if (pointer[0] != '/') {
    return false;
  }
  size_t start = 1;
  while (true) {
    size_t slash = pointer.find('/', start);
    tokens->push_back(unescapeToken(pointer.substr(start, slash - start)));
    if (slash == std::string_view::npos) {
      return true;
    }
    start = slash + 1;
  }
}

// A list index token: decimal without leading zeros, below `limit` (inclusive when `end_ok`).
bool listIndex(const std::string& token, int size, bool end_ok, int* index) {
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) {
    return false;
  }
  for (char c : token) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  *index = std::atoi(token.c_str());
  return *index < size || (end_ok && *index == size);
}

Value* resolve(Value* doc, const std::vector<std::string>& tokens, size_t count) {
  Value* v = doc;
  for (size_t i = 0; i < count; ++i) {
    if (v->has_struct_value()) {
      auto* fields = v->mutable_struct_value()->mutable_fields();
      auto it = fields->find(tokens[i]);
      if (it == fields->end()) {
        return nullptr;
      }
      v = &it->second;
    } else if (v->has_list_value()) {
      int index = 0;
      if (!listIndex(tokens[i], v->list_value().values_size(), false, &index)) {
        return nullptr;
      }
      v = v->mutable_list_value()->mutable_values(index);
    } else {
      return nullptr;
    }
  }
  return v;
}

Status removeAt(Value* doc, const std::vector<std::string>& tokens, Value* removed) {
  if (tokens.empty()) {
    return Status::invalid("cannot remove the whole document");
  }
  Value* parent = resolve(doc, tokens, tokens.size() - 1);
  if (parent == nullptr) {
    return Status::invalid("path does not exist");
  }
  const std::string& last = tokens.back();
  if (parent->has_struct_value()) {
    auto* fields = parent->mutable_struct_value()->mutable_fields();
    auto it = fields->find(last);
    if (it == fields->end()) {
      return Status::invalid("path does not exist");
    }
    *removed = std::move(it->second);
    fields->erase(it);
    return Status::ok();
  }
  int index = 0;
  if (!parent->has_list_value() ||
      !listIndex(last, parent->list_value().values_size(), false, &index)) {
    return Status::invalid("path does not exist");
  }
  auto* values = parent->mutable_list_value()->mutable_values();
  *removed = std::move(*values->Mutable(index));
  values->erase(values->begin() + index);
  return Status::ok();
}

Status addAt(Value* doc, const std::vector<std::string>& tokens, Value value) {
  if (tokens.empty()) {
    *doc = std::move(value);
    return Status::ok();
  }
  Value* parent = resolve(doc, tokens, tokens.size() - 1);
  if (parent == nullptr) {
    return Status::invalid("parent path does not exist");
  }
  const std::string& last = tokens.back();
  if (parent->has_struct_value()) {
    (*parent->mutable_struct_value()->mutable_fields())[last] = std::move(value);
    return Status::ok();
  }
  if (!parent->has_list_value()) {
    return Status::invalid("parent is neither an object nor an array");
  }
  auto* values = parent->mutable_list_value()->mutable_values();
  int index = values->size();
  if (last != "-" && !listIndex(last, values->size(), true, &index)) {
    return Status::invalid("array index out of range");
  }
  *values->Add() = std::move(value);
  // Rotate the new last element into place.
  for (int i = values->size() - 1; i > index; --i) {
    values->SwapElements(i, i - 1);
  }
  return Status::ok();
}

Status applyOne(const Value& op, Value* doc) {
  if (!op.has_struct_value()) {
    return Status::invalid("not an object");
  }
  const Value* name = jsonMember(&op, "op");
  const Value* path = jsonMember(&op, "path");
  const Value* value = jsonMember(&op, "value");
  const Value* from = jsonMember(&op, "from");
  std::vector<std::string> tokens;
  if (name == nullptr || !name->has_string_value() || path == nullptr ||
      !path->has_string_value() || !splitPointer(path->string_value(), &tokens)) {
    return Status::invalid("needs a string \"op\" and a JSON Pointer \"path\"");
  }
  const std::string& kind = name->string_value();
  if (kind == "add" || kind == "replace" || kind == "test") {
    if (value == nullptr) {
      return Status::invalid(kind + " needs a \"value\"");
    }
    if (kind == "test") {
      const Value* at = resolve(doc, tokens, tokens.size());
      return at != nullptr && jsonEqual(*at, *value) ? Status::ok()
                                                     : Status::invalid("test failed");
    }
    if (kind == "replace") {
      Value* at = resolve(doc, tokens, tokens.size());
      if (at == nullptr) {
        return Status::invalid("path does not exist");
      }
      *at = *value;
      return Status::ok();
    }
    return addAt(doc, tokens, *value);
  }
  if (kind == "remove") {
    Value removed;
    return removeAt(doc, tokens, &removed);
  }
  if (kind == "move" || kind == "copy") {
    std::vector<std::string> from_tokens;
    if (from == nullptr || !from->has_string_value() ||
        !splitPointer(from->string_value(), &from_tokens)) {
      return Status::invalid(kind + " needs a JSON Pointer \"from\"");
    }
    Value moved;
    if (kind == "move") {
      if (Status s = removeAt(doc, from_tokens, &moved); !s.isOk()) {
        return s;
      }
    } else {
      const Value* at = resolve(doc, from_tokens, from_tokens.size());
      if (at == nullptr) {
        return Status::invalid("from path does not exist");
      }
      moved = *at;
    }
    return addAt(doc, tokens, std::move(moved));
  }
  return Status::invalid("unknown op '" + kind + "'");
}

}  // namespace

std::string escapePointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

ListValue diffJson(const Value& from, const Value& to) {
  ListValue patch;
  diffInto(from, to, "", &patch);
  return patch;
}

Status applyJsonPatch(const ListValue& patch, Value* doc) {
  for (int i = 0; i < patch.values_size(); ++i) {
    if (Status s = applyOne(patch.values(i), doc); !s.isOk()) {
      const Value* path = jsonMember(&patch.values(i), "path");
      return Status::invalid(
          "patch op " + std::to_string(i) + " (" +
          (path != nullptr && path->has_string_value() ? path->string_value() : std::string("?")) +
          "): " + s.message());
    }
  }
  return Status::ok();
}

const Value* jsonMember(const Value* v, std::string_view key) {
  if (v == nullptr || !v->has_struct_value()) {
    return nullptr;
  }
  auto it = v->struct_value().fields().find(std::string(key));
  return it == v->struct_value().fields().end() ? nullptr : &it->second;
}

Value* findPointer(Value* doc, std::string_view pointer) {
  std::vector<std::string> tokens;
  return splitPointer(pointer, &tokens) ? resolve(doc, tokens, tokens.size()) : nullptr;
}

const Value* findPointer(const Value& doc, std::string_view pointer) {
  // resolve() only reads through its pointer; the const_cast lets one walker serve both.
  return findPointer(const_cast<Value*>(&doc), pointer);
}

bool jsonEqual(const Value& a, const Value& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace remora::control
