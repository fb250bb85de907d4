#include "xds/proto_json.h"

#include <memory>
#include <vector>

#include "common/utf8.h"

namespace remora::xds {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Visits every string field of `m`. `fix` false: stops at the first ill-formed one and returns
// true. `fix` true: replaces each ill-formed one and returns whether any was.
bool walk(const Message& cm, Message* m, bool fix) {
  const Reflection* r = cm.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(cm, &fields);
  bool found = false;
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(cm, f); ++i) {
          std::string scratch;
          const std::string& v = r->GetRepeatedStringReference(cm, f, i, &scratch);
          if (!common::isValidUtf8(v)) {
            if (!fix) {
              return true;
            }
            found = true;
            r->SetRepeatedString(m, f, i, common::toValidUtf8(v));
          }
        }
      } else {
        std::string scratch;
        const std::string& v = r->GetStringReference(cm, f, &scratch);
        if (!common::isValidUtf8(v)) {
          if (!fix) {
            return true;
          }
          found = true;
          r->SetString(m, f, common::toValidUtf8(v));
        }
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(cm, f); ++i) {
          Message* sub = fix ? r->MutableRepeatedMessage(m, f, i) : nullptr;
          const Message& csub = fix ? *sub : r->GetRepeatedMessage(cm, f, i);
          if (walk(csub, sub, fix)) {
            if (!fix) {
              return true;
            }
            found = true;
          }
        }
      } else {
        Message* sub = fix ? r->MutableMessage(m, f) : nullptr;
        const Message& csub = fix ? *sub : r->GetMessage(cm, f);
        if (walk(csub, sub, fix)) {
          if (!fix) {
            return true;
          }
          found = true;
        }
      }
    }
  }
  return found;
}

}  // namespace

bool hasInvalidUtf8(const Message& m) {
  return walk(m, nullptr, false);
}

void replaceInvalidUtf8(Message& m) {
  walk(m, &m, true);
}

bool printJson(const Message& m, const google::protobuf::util::JsonPrintOptions& options,
               std::string* out) {
  out->clear();
  if (!hasInvalidUtf8(m)) {
    return google::protobuf::util::MessageToJsonString(m, out, options).ok();
  }
  std::unique_ptr<Message> copy(m.New());
  copy->CopyFrom(m);
  replaceInvalidUtf8(*copy);
  return google::protobuf::util::MessageToJsonString(*copy, out, options).ok();
}

}  // namespace remora::xds
