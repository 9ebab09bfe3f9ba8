// JSON <-> Cap'n Proto by schema reflection.
//
// Input is parsed with simdjson (it keeps integers and floats apart, so `2.0`
// is refused where an integer is due, which Cap'n Proto's own JSON codec, built
// on doubles, cannot tell). Every value then goes through FieldMeta, built once
// from relais.capnp's annotations.
#include <capnp/schema.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "codec/codec.h"
#include "relais/engine.h"

namespace relais::codec {

namespace {

constexpr uint64_t kOptionalId = 0xb0c1a7e4d2f30001ull;
constexpr uint64_t kMinId = 0xb0c1a7e4d2f30002ull;
constexpr uint64_t kMaxId = 0xb0c1a7e4d2f30003ull;
constexpr uint64_t kMinItemsId = 0xb0c1a7e4d2f30004ull;
constexpr uint64_t kMaxItemsId = 0xb0c1a7e4d2f30005ull;
constexpr uint64_t kDateId = 0xb0c1a7e4d2f30006ull;
constexpr uint64_t kUuidId = 0xb0c1a7e4d2f30007ull;
constexpr uint64_t kBareIdId = 0xb0c1a7e4d2f30008ull;
constexpr uint64_t kPersonalId = 0xb0c1a7e4d2f30009ull;
constexpr uint64_t kRequiredIfId = 0xb0c1a7e4d2f3000aull;
constexpr uint64_t kCorrectionDataId = 0xb0c1a7e4d2f3000bull;
constexpr uint64_t kHiddenId = 0xb0c1a7e4d2f3000cull;
constexpr uint64_t kStreamId = 0xb0c1a7e4d2f3000dull;
constexpr uint64_t kVisibilityId = 0xb0c1a7e4d2f3000eull;
constexpr uint64_t kJsonNameId = 0xfa5b1fd61c2e7c3dull;

// Limits on input (docs/limits.md).
constexpr size_t kTextBytesMax = schema::K_TEXT_BYTES_MAX;

std::string SnakeCase(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct FieldMeta {
  capnp::StructSchema::Field field;
  std::string name;
  uint16_t ordinal = 0;
  bool optional = false, date = false, uuid = false, bare_id = false, personal = false;
  bool correction_data = false, hidden = false;
  std::optional<int64_t> min, max;
  std::optional<uint32_t> min_items, max_items;
  std::string required_if_field, required_if_value;
};

struct StructMeta {
  std::vector<FieldMeta> fields;  // non-union fields, in code order
  std::unordered_map<std::string, size_t> by_name;
};

struct EnumMeta {
  std::vector<std::string> names;
  std::unordered_map<std::string, uint16_t> by_name;
};

struct UnionMember {
  capnp::StructSchema::Field field;
  std::string type_name;
  schema::StreamKind stream = schema::StreamKind::ANY;
  schema::Visibility visibility = schema::Visibility::MANAGEMENT;
};

// Every struct and enum reachable from the stored envelope, described once at
// start-up; read-only (and so lock-free) afterwards.
class Registry {
 public:
  static const Registry& Get() {
    static const Registry* r = new Registry();
    return *r;
  }
  const StructMeta& Struct(capnp::StructSchema s) const {
    auto it = structs_.find(s.getProto().getId());
    if (it == structs_.end()) {
      // Every reachable struct is registered at start-up: a miss is a bug.
      KJ_FAIL_REQUIRE("struct missing from the codec registry", s.getProto().getDisplayName());
    }
    return it->second;
  }
  const EnumMeta& Enum(capnp::EnumSchema e) const {
    auto it = enums_.find(e.getProto().getId());
    if (it == enums_.end()) KJ_FAIL_REQUIRE("enum missing from the codec registry");
    return it->second;
  }
  const std::vector<UnionMember>& Members() const { return members_; }
  // Whether an event type's data can hold personal fields (at any depth).
  bool HasPersonal(size_t member) const { return has_personal_[member]; }

 private:
  Registry() {
    Collect(capnp::Schema::from<schema::StoredEvent>());
    Collect(capnp::Schema::from<schema::RequiredIf>());
    auto s = capnp::Schema::from<schema::EventData>();
    for (auto f : s.getUnionFields()) {
      UnionMember m{f, "", schema::StreamKind::ANY, schema::Visibility::MANAGEMENT};
      std::string n = f.getProto().getName().cStr();
      n[0] = static_cast<char>(n[0] - 'a' + 'A');
      m.type_name = n;
      for (auto a : f.getProto().getAnnotations()) {
        if (a.getId() == kStreamId)
          m.stream = static_cast<schema::StreamKind>(a.getValue().getEnum());
        if (a.getId() == kVisibilityId)
          m.visibility = static_cast<schema::Visibility>(a.getValue().getEnum());
      }
      members_.push_back(m);
      std::set<uint64_t> seen;
      has_personal_.push_back(Personal(f.getType().asStruct(), &seen));
    }
  }
  bool Personal(capnp::StructSchema s, std::set<uint64_t>* seen) const {
    if (!seen->insert(s.getProto().getId()).second) return false;
    for (const FieldMeta& m : structs_.at(s.getProto().getId()).fields) {
      if (m.personal) return true;
      if (m.field.getType().isStruct()) {
        auto inner = m.field.getType().asStruct();
        if (Personal(inner, seen)) return true;
        for (auto u : inner.getUnionFields())
          if (u.getType().isStruct() && Personal(u.getType().asStruct(), seen)) return true;
      }
    }
    return false;
  }
  void Collect(capnp::Type t) {
    if (t.isStruct()) {
      Collect(t.asStruct());
    } else if (t.isEnum()) {
      CollectEnum(t.asEnum());
    } else if (t.isList()) {
      Collect(t.asList().getElementType());
    }
  }
  void Collect(capnp::StructSchema s) {
    uint64_t id = s.getProto().getId();
    if (structs_.count(id)) return;
    structs_.emplace(id, BuildStruct(s));
    for (auto f : s.getFields()) Collect(f.getType());
  }
  void CollectEnum(capnp::EnumSchema e) {
    uint64_t id = e.getProto().getId();
    if (enums_.count(id)) return;
    EnumMeta m;
    for (auto en : e.getEnumerants()) {
      std::string name = SnakeCase(en.getProto().getName().cStr());
      for (auto a : en.getProto().getAnnotations())
        if (a.getId() == kJsonNameId) name = a.getValue().getText().cStr();
      m.by_name[name] = static_cast<uint16_t>(m.names.size());
      m.names.push_back(name);
    }
    enums_.emplace(id, std::move(m));
  }
  static StructMeta BuildStruct(capnp::StructSchema s) {
    StructMeta m;
    for (auto f : s.getNonUnionFields()) {
      FieldMeta fm{f, f.getProto().getName().cStr()};
      fm.ordinal = f.getProto().getOrdinal().getExplicit();
      for (auto a : f.getProto().getAnnotations()) {
        auto v = a.getValue();
        switch (a.getId()) {
          case kOptionalId: fm.optional = true; break;
          case kMinId: fm.min = v.getInt64(); break;
          case kMaxId: fm.max = v.getInt64(); break;
          case kMinItemsId: fm.min_items = v.getUint32(); break;
          case kMaxItemsId: fm.max_items = v.getUint32(); break;
          case kDateId: fm.date = true; break;
          case kUuidId: fm.uuid = true; break;
          case kBareIdId: fm.bare_id = true; break;
          case kPersonalId: fm.personal = true; break;
          case kCorrectionDataId: fm.correction_data = true; break;
          case kHiddenId: fm.hidden = true; break;
          case kRequiredIfId: {
            auto r = v.getStruct().getAs<schema::RequiredIf>();
            fm.required_if_field = r.getField().cStr();
            fm.required_if_value = r.getValue().cStr();
            break;
          }
          default: break;
        }
      }
      m.by_name[fm.name] = m.fields.size();
      m.fields.push_back(std::move(fm));
    }
    return m;
  }

  std::unordered_map<uint64_t, StructMeta> structs_;
  std::unordered_map<uint64_t, EnumMeta> enums_;
  std::vector<UnionMember> members_;
  std::vector<bool> has_personal_;
};

using Err = std::optional<std::string>;

std::string Join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

const char* JsonTypeName(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64: return "an integer";
    case T::DOUBLE: return "a decimal number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
  }
  return "a value";
}

Err Expect(const std::string& path, const char* what, simdjson::dom::element v) {
  return "field '" + path + "' must be " + what + ", not " + JsonTypeName(v.type());
}

// A NUL (\u0000) is valid JSON but not text: Cap'n Proto Text is read back as a
// C string in places (subjects, cStr()), which would cut it short, so that what
// is stored would differ from what was accepted.
Err CheckNul(const std::string& path, std::string_view s) {
  if (s.find('\0') != std::string_view::npos)
    return "field '" + path + "' must not contain NUL characters (\\u0000)";
  return std::nullopt;
}

Err CheckText(const std::string& path, std::string_view s, const FieldMeta& m) {
  if (s.size() > kTextBytesMax)
    return "field '" + path + "' is longer than " + std::to_string(kTextBytesMax) + " bytes";
  if (auto e = CheckNul(path, s)) return e;
  if (m.bare_id && !IsBareId(s))
    return "field '" + path + "' must be a bare id matching [A-Za-z0-9_-]{1,64} (no 'dwelling/' prefix)";
  return std::nullopt;
}

Err ParseInteger(const std::string& path, simdjson::dom::element v, const FieldMeta* m,
                 int64_t lo, int64_t hi, int64_t* out) {
  if (v.type() == simdjson::dom::element_type::INT64) {
    *out = v.get_int64().value_unsafe();
  } else if (v.type() == simdjson::dom::element_type::UINT64) {
    return "field '" + path + "' is out of range";
  } else {
    return Expect(path, "an integer", v);
  }
  if (m && m->min) lo = std::max(lo, *m->min);
  if (m && m->max) hi = std::min(hi, *m->max);
  if (*out < lo || *out > hi)
    return "field '" + path + "' must be between " + std::to_string(lo) + " and " +
           std::to_string(hi) + ", not " + std::to_string(*out);
  return std::nullopt;
}

Err SetEnum(const std::string& path, capnp::EnumSchema es, simdjson::dom::element v,
            uint16_t* out) {
  if (v.type() != simdjson::dom::element_type::STRING) return Expect(path, "a string", v);
  const EnumMeta& em = Registry::Get().Enum(es);
  std::string s(v.get_string().value_unsafe());
  auto it = em.by_name.find(s);
  if (it == em.by_name.end()) {
    std::string allowed;
    for (const auto& n : em.names) allowed += (allowed.empty() ? "" : ", ") + n;
    return "field '" + path + "' has unknown value '" + s + "' (allowed: " + allowed + ")";
  }
  *out = it->second;
  return std::nullopt;
}

Err JsonToStruct(simdjson::dom::element json, capnp::DynamicStruct::Builder out,
                 const std::string& path, bool partial, std::vector<uint16_t>* present,
                 std::string* correction_data_json);

// Sets one field from a JSON value.
Err SetField(const FieldMeta& m, simdjson::dom::element v, capnp::DynamicStruct::Builder out,
             const std::string& path, std::string* correction_data_json) {
  using capnp::schema::Type;
  using ET = simdjson::dom::element_type;
  auto type = m.field.getType();
  switch (type.which()) {
    case Type::BOOL:
      if (v.type() != ET::BOOL) return Expect(path, "a boolean", v);
      out.set(m.field, v.get_bool().value_unsafe());
      return std::nullopt;
    case Type::INT32: {
      if (m.date) {
        if (v.type() != ET::STRING) return Expect(path, "a date YYYY-MM-DD", v);
        auto d = ParseDate(v.get_string().value_unsafe());
        if (!d) return "field '" + path + "' is not a valid date YYYY-MM-DD";
        out.set(m.field, d->days);
        return std::nullopt;
      }
      int64_t x;
      if (auto e = ParseInteger(path, v, &m, INT32_MIN, INT32_MAX, &x)) return e;
      out.set(m.field, static_cast<int32_t>(x));
      return std::nullopt;
    }
    case Type::INT64: {
      int64_t x;
      if (auto e = ParseInteger(path, v, &m, INT64_MIN, INT64_MAX, &x)) return e;
      out.set(m.field, x);
      return std::nullopt;
    }
    case Type::TEXT: {
      if (v.type() != ET::STRING) return Expect(path, "a string", v);
      std::string_view s = v.get_string().value_unsafe();
      if (auto e = CheckText(path, s, m)) return e;
      out.set(m.field, capnp::Text::Reader(s.data(), s.size()));
      return std::nullopt;
    }
    case Type::DATA: {
      if (!m.uuid) return "field '" + path + "' cannot be set";
      if (v.type() != ET::STRING) return Expect(path, "a UUID string", v);
      auto u = ParseUuid(v.get_string().value_unsafe());
      if (!u) return "field '" + path + "' must be a lowercase canonical UUID";
      out.set(m.field, capnp::Data::Reader(u->bytes.data(), 16));
      return std::nullopt;
    }
    case Type::ENUM: {
      uint16_t ord;
      if (auto e = SetEnum(path, type.asEnum(), v, &ord)) return e;
      out.set(m.field, capnp::DynamicEnum(type.asEnum(), ord));
      return std::nullopt;
    }
    case Type::STRUCT: {
      if (v.type() != ET::OBJECT) return Expect(path, "an object", v);
      if (m.correction_data) {
        // Decoded later, against the target's type.
        if (correction_data_json) *correction_data_json = simdjson::minify(v);
        return std::nullopt;
      }
      return JsonToStruct(v, out.init(m.field).as<capnp::DynamicStruct>(), path, false, nullptr,
                          nullptr);
    }
    case Type::LIST: {
      if (v.type() != ET::ARRAY) return Expect(path, "an array", v);
      auto arr = v.get_array().value_unsafe();
      size_t n = arr.size();
      if (m.min_items && n < *m.min_items)
        return "field '" + path + "' needs at least " + std::to_string(*m.min_items) + " items";
      if (m.max_items && n > *m.max_items)
        return "field '" + path + "' has more than " + std::to_string(*m.max_items) + " items";
      auto list = out.init(m.field, static_cast<unsigned>(n)).as<capnp::DynamicList>();
      auto elem = type.asList().getElementType();
      unsigned i = 0;
      for (auto item : arr) {
        std::string p = path + "[" + std::to_string(i) + "]";
        switch (elem.which()) {
          case Type::TEXT: {
            if (item.type() != ET::STRING) return Expect(p, "a string", item);
            std::string_view s = item.get_string().value_unsafe();
            if (s.size() > kTextBytesMax) return "field '" + p + "' is too long";
            if (auto e = CheckNul(p, s)) return e;
            list.set(i, capnp::Text::Reader(s.data(), s.size()));
            break;
          }
          case Type::ENUM: {
            uint16_t ord;
            if (auto e = SetEnum(p, elem.asEnum(), item, &ord)) return e;
            list.set(i, capnp::DynamicEnum(elem.asEnum(), ord));
            break;
          }
          case Type::STRUCT:
            if (item.type() != ET::OBJECT) return Expect(p, "an object", item);
            if (auto e = JsonToStruct(item, list[i].as<capnp::DynamicStruct>(), p, false, nullptr,
                                      nullptr))
              return e;
            break;
          default:
            return "field '" + p + "' has an unsupported type";
        }
        ++i;
      }
      return std::nullopt;
    }
    default:
      return "field '" + path + "' has an unsupported type";
  }
}

Err JsonToStruct(simdjson::dom::element json, capnp::DynamicStruct::Builder out,
                 const std::string& path, bool partial, std::vector<uint16_t>* present,
                 std::string* correction_data_json) {
  const StructMeta& sm = Registry::Get().Struct(out.getSchema());
  std::vector<bool> seen(sm.fields.size(), false);
  simdjson::dom::object object = json.get_object().value_unsafe();
  for (auto [key, value] : object) {
    std::string k(key);
    std::string p = Join(path, k);
    auto it = sm.by_name.find(k);
    if (it == sm.by_name.end() || sm.fields[it->second].hidden)
      return "unknown field '" + p + "'";
    if (seen[it->second]) return "field '" + p + "' appears twice";
    seen[it->second] = true;
    const FieldMeta& m = sm.fields[it->second];
    if (partial && m.correction_data) return "unknown field '" + p + "'";
    if (auto e = SetField(m, value, out, p, correction_data_json)) return e;
    if (present) present->push_back(m.ordinal);
  }
  if (partial) return std::nullopt;
  for (size_t i = 0; i < sm.fields.size(); ++i) {
    const FieldMeta& m = sm.fields[i];
    if (seen[i] || m.hidden) continue;
    if (!m.optional) return "missing required field '" + Join(path, m.name) + "'";
    if (!m.required_if_field.empty()) {
      auto dep = sm.by_name.find(m.required_if_field);
      if (dep != sm.by_name.end()) {
        const FieldMeta& dm = sm.fields[dep->second];
        auto ev = out.get(dm.field).as<capnp::DynamicEnum>();
        const EnumMeta& em = Registry::Get().Enum(ev.getSchema());
        if (em.names[ev.getRaw()] == m.required_if_value)
          return "missing field '" + Join(path, m.name) + "', required when " + dm.name + " is " +
                 m.required_if_value;
      }
    }
  }
  return std::nullopt;
}

// --- output ---------------------------------------------------------------

// What StructToJson needs of each field, looked up once per struct instead of
// per field and per event through the schema (getType, the default value and
// the registry's hash lookup were a fifth of a history read).
struct OutField {
  const FieldMeta* m;
  capnp::Type type;
  capnp::schema::Type::Which which;
  bool pointer;        // struct, list, text or data: absent when not set
  int64_t default_int;  // an optional scalar's schema default (bool as 0/1)
};
struct OutStruct {
  std::vector<OutField> fields;
  std::optional<capnp::StructSchema::Field> fields_list;  // EventCorrected's "fields"
};

class OutRegistry {
 public:
  static const OutRegistry& Get() {
    static const OutRegistry* r = new OutRegistry();
    return *r;
  }
  const OutStruct& Struct(capnp::StructSchema s) const {
    auto it = structs_.find(s.getProto().getId());
    if (it == structs_.end()) KJ_FAIL_REQUIRE("struct missing from the output registry");
    return it->second;
  }

 private:
  OutRegistry() {
    Collect(capnp::Schema::from<schema::StoredEvent>());
  }
  void Collect(capnp::Type t) {
    if (t.isStruct()) {
      Collect(t.asStruct());
    } else if (t.isList()) {
      Collect(t.asList().getElementType());
    }
  }
  void Collect(capnp::StructSchema s) {
    uint64_t id = s.getProto().getId();
    if (structs_.count(id)) return;
    OutStruct& o = structs_[id];
    for (const FieldMeta& m : Registry::Get().Struct(s).fields) {
      OutField f{&m, m.field.getType(), m.field.getType().which(), false, 0};
      f.pointer = f.type.isStruct() || f.type.isList() || f.type.isText() || f.type.isData();
      auto dv = m.field.getProto().getSlot().getDefaultValue();
      switch (f.which) {
        case capnp::schema::Type::BOOL: f.default_int = dv.getBool() ? 1 : 0; break;
        case capnp::schema::Type::INT32: f.default_int = dv.getInt32(); break;
        case capnp::schema::Type::INT64: f.default_int = dv.getInt64(); break;
        default: break;
      }
      o.fields.push_back(f);
    }
    KJ_IF_MAYBE(fl, s.findFieldByName("fields")) { o.fields_list = *fl; }
    for (auto f : s.getFields()) Collect(f.getType());
  }
  std::unordered_map<uint64_t, OutStruct> structs_;
};

void ValueToJson(const FieldMeta* m, capnp::DynamicValue::Reader v, capnp::Type type,
                 JsonWriter& w, bool omit_personal);

// `omit_personal`: the personal fields could not be unsealed (their key is
// gone); what is left of them in the stored data is an empty placeholder that
// must not be shown as a value (a birth date of 1970-01-01, an empty name).
void StructToJson(capnp::DynamicStruct::Reader r, JsonWriter& w, const std::vector<uint16_t>* only,
                  bool omit_personal) {
  const OutStruct& os = OutRegistry::Get().Struct(r.getSchema());
  w.BeginObject();
  for (const OutField& of : os.fields) {
    const FieldMeta& m = *of.m;
    if (m.hidden) continue;
    if (omit_personal && m.personal) continue;
    if (only && std::find(only->begin(), only->end(), m.ordinal) == only->end()) continue;
    if (of.pointer) {
      if (!r.has(m.field)) continue;
    } else if (m.optional && !only) {
      // An absent optional scalar holds its schema default (the "absent" value).
      auto v = r.get(m.field);
      bool is_default = false;
      switch (of.which) {
        case capnp::schema::Type::BOOL: is_default = (v.as<bool>() ? 1 : 0) == of.default_int; break;
        case capnp::schema::Type::INT32: is_default = v.as<int32_t>() == of.default_int; break;
        case capnp::schema::Type::INT64: is_default = v.as<int64_t>() == of.default_int; break;
        default: break;
      }
      if (is_default) continue;
    }
    w.Key(m.name);
    if (m.correction_data) {
      auto inner = r.get(m.field).as<capnp::DynamicStruct>();
      auto which = inner.which();
      std::vector<uint16_t> fields;
      auto fl = os.fields_list ? *os.fields_list : r.getSchema().getFieldByName("fields");
      for (auto x : r.get(fl).as<capnp::List<uint16_t>>()) fields.push_back(x);
      KJ_IF_MAYBE(member, which) {
        StructToJson(inner.get(*member).as<capnp::DynamicStruct>(), w, &fields, omit_personal);
      } else {
        w.BeginObject().EndObject();
      }
      continue;
    }
    ValueToJson(&m, r.get(m.field), of.type, w, omit_personal);
  }
  w.EndObject();
}

void ValueToJson(const FieldMeta* m, capnp::DynamicValue::Reader v, capnp::Type type,
                 JsonWriter& w, bool omit_personal) {
  using capnp::schema::Type;
  switch (type.which()) {
    case Type::BOOL: w.Bool(v.as<bool>()); break;
    case Type::INT32:
      if (m && m->date) {
        w.String(FormatDate(Date{v.as<int32_t>()}));
      } else {
        w.Int(v.as<int32_t>());
      }
      break;
    case Type::INT64: w.Int(v.as<int64_t>()); break;
    case Type::UINT16: w.Uint(v.as<uint16_t>()); break;
    case Type::TEXT: w.String(std::string_view(v.as<capnp::Text>().cStr())); break;
    case Type::DATA: {
      auto d = v.as<capnp::Data>();
      if (d.size() == 16) {
        w.String(FormatUuid(UuidFromBytes({reinterpret_cast<const char*>(d.begin()), 16})));
      } else {
        w.Null();
      }
      break;
    }
    case Type::ENUM: {
      auto e = v.as<capnp::DynamicEnum>();
      w.String(EnumNameOf(e.getSchema(), e.getRaw()));
      break;
    }
    case Type::STRUCT: StructToJson(v.as<capnp::DynamicStruct>(), w, nullptr, omit_personal); break;
    case Type::LIST: {
      auto l = v.as<capnp::DynamicList>();
      auto elem = type.asList().getElementType();
      w.BeginArray();
      for (auto item : l) ValueToJson(nullptr, item, elem, w, omit_personal);
      w.EndArray();
      break;
    }
    default: w.Null(); break;
  }
}

// --- envelope -------------------------------------------------------------

constexpr std::string_view kEnvelopeKeys[] = {"id",   "type",            "subject",
                                              "effectiveDate", "data", "expectedVersion",
                                              "recordedAt",    "actor"};
constexpr std::string_view kEngineKeys[] = {"position", "version", "hash", "prevHash"};

const UnionMember* MemberByName(std::string_view name) {
  for (const auto& m : Registry::Get().Members())
    if (m.type_name == name) return &m;
  return nullptr;
}

schema::StreamKind KindOf(StreamKind k) {
  switch (k) {
    case StreamKind::kHousehold: return schema::StreamKind::HOUSEHOLD;
    case StreamKind::kDwelling: return schema::StreamKind::DWELLING;
    case StreamKind::kTerritory: return schema::StreamKind::TERRITORY;
  }
  return schema::StreamKind::ANY;
}

Err ParseActor(simdjson::dom::element v, ActorValue* out) {
  using ET = simdjson::dom::element_type;
  if (v.type() != ET::OBJECT) return Expect("actor", "an object", v);
  bool has_id = false, has_role = false, has_org = false;
  simdjson::dom::object object = v.get_object().value_unsafe();
  for (auto [key, value] : object) {
    if (key != "id" && key != "role" && key != "org")
      return "unknown field 'actor." + std::string(key) + "'";
    bool& seen = key == "id" ? has_id : key == "org" ? has_org : has_role;
    if (seen) return "field 'actor." + std::string(key) + "' appears twice";
    if (value.type() != ET::STRING) return Expect("actor." + std::string(key), "a string", value);
    std::string_view s = value.get_string().value_unsafe();
    if (s.empty() || s.size() > 256)
      return "field 'actor." + std::string(key) + "' must be 1 to 256 bytes";
    if (auto e = CheckNul("actor." + std::string(key), s)) return e;
    if (key == "id") {
      out->id = s;
      has_id = true;
    } else if (key == "org") {
      out->org = s;
      has_org = true;
    } else {
      uint16_t ord;
      if (auto e = SetEnum("actor.role", capnp::Schema::from<schema::Role>(), value, &ord))
        return e;
      out->role = static_cast<schema::Role>(ord);
      has_role = true;
    }
  }
  if (!has_id || !has_role || !has_org) return "field 'actor' needs id, role and org";
  return std::nullopt;
}

std::optional<ParseError> ParseOne(simdjson::dom::element el, ParsedEvent* out, bool allow_erasure) {
  using ET = simdjson::dom::element_type;
  if (el.type() != ET::OBJECT)
    return ParseError{"an event must be a JSON object, not " + std::string(JsonTypeName(el.type())),
                      std::nullopt};
  auto obj = el.get_object().value_unsafe();
  // The id first, so that any later refusal can name the event.
  std::optional<std::string> id_text;
  if (auto idv = obj["id"]; !idv.error() && idv.value_unsafe().type() == ET::STRING) {
    std::string_view s = idv.value_unsafe().get_string().value_unsafe();
    if (auto u = ParseUuid(s)) {
      out->id = *u;
      out->id_text = s;
      id_text = out->id_text;
    }
  }
  auto fail = [&](std::string msg) { return ParseError{std::move(msg), id_text}; };

  simdjson::dom::element fields[8];
  bool have[8] = {};
  for (auto [key, value] : obj) {
    size_t i = 0;
    while (i < 8 && kEnvelopeKeys[i] != key) ++i;
    if (i == 8) {
      for (auto k : kEngineKeys)
        if (k == key) return fail("field '" + std::string(key) + "' is set by the engine, not by a client");
      return fail("unknown field '" + std::string(key) + "'");
    }
    if (have[i]) return fail("field '" + std::string(key) + "' appears twice");
    have[i] = true;
    fields[i] = value;
  }
  for (int i = 0; i < 5; ++i)
    if (!have[i]) return fail("missing required field '" + std::string(kEnvelopeKeys[i]) + "'");
  if (!id_text) return fail("field 'id' must be a lowercase canonical UUID");

  if (fields[1].type() != ET::STRING) return fail(*Expect("type", "a string", fields[1]));
  std::string_view type_name = fields[1].get_string().value_unsafe();
  const UnionMember* member = MemberByName(type_name);
  if (!member) return fail("field 'type': unknown event type '" + std::string(type_name) + "'");
  out->type = static_cast<EventType>(member->field.getProto().getDiscriminantValue());
  // Only the erasure commands record it, as they destroy the key with it
  // (lifecycle.md §1): an imported one would claim an erasure that never was.
  if (out->type == EventType::kPersonalDataErased && !allow_erasure)
    return fail("field 'type': PersonalDataErased is recorded only by the erasure commands "
                "(relais erase, the erasure endpoint, retention --apply, restore)");

  if (fields[2].type() != ET::STRING) return fail(*Expect("subject", "a string", fields[2]));
  std::string why;
  auto subject = ParseSubject(fields[2].get_string().value_unsafe(), &why);
  if (!subject) return fail("field 'subject': " + why);
  out->subject = std::move(*subject);
  if (member->stream != schema::StreamKind::ANY && member->stream != KindOf(out->subject.kind))
    return fail("field 'type': " + std::string(type_name) + " does not belong on a " +
                std::string(out->subject.text.substr(0, out->subject.text.find('/'))) + " stream");

  if (fields[3].type() != ET::STRING) return fail(*Expect("effectiveDate", "a date", fields[3]));
  auto eff = ParseDate(fields[3].get_string().value_unsafe());
  if (!eff) return fail("field 'effectiveDate' is not a valid date YYYY-MM-DD");
  out->effective = *eff;

  if (have[5]) {
    int64_t x;
    if (auto e = ParseInteger("expectedVersion", fields[5], nullptr, -1, INT64_MAX, &x))
      return fail(*e);
    out->expected_version = x;
  }
  if (have[6]) {
    if (fields[6].type() != ET::STRING) return fail(*Expect("recordedAt", "a string", fields[6]));
    auto t = ParseTimestamp(fields[6].get_string().value_unsafe());
    if (!t) return fail("field 'recordedAt' must be RFC 3339 UTC ending in Z, e.g. 2015-02-02T09:00:00Z");
    out->recorded_at = *t;
  }
  if (have[7]) {
    ActorValue a;
    if (auto e = ParseActor(fields[7], &a)) return fail(*e);
    out->actor = std::move(a);
  }

  if (fields[4].type() != ET::OBJECT) return fail(*Expect("data", "an object", fields[4]));
  out->data = std::make_unique<capnp::MallocMessageBuilder>(512);
  auto root = capnp::toDynamic(out->data->initRoot<schema::EventData>());
  auto body = root.init(member->field).as<capnp::DynamicStruct>();
  std::string correction_json;
  if (auto e = JsonToStruct(fields[4], body, "data", false, nullptr, &correction_json))
    return fail(*e);
  if (out->type == EventType::kEventCorrected) {
    out->has_correction_data = !correction_json.empty();
    out->correction_data_json = std::move(correction_json);
  }
  out->fact = ToFact(out->data->getRoot<schema::EventData>().asReader(), out->subject);
  return std::nullopt;
}

}  // namespace

std::string_view EnumNameOf(capnp::EnumSchema schema, uint16_t value) {
  const EnumMeta& m = Registry::Get().Enum(schema);
  return value < m.names.size() ? std::string_view(m.names[value]) : std::string_view("?");
}

std::string_view RoleName(schema::Role r) { return EnumName(r); }

schema::Visibility DeclaredVisibility(EventType t) {
  return Registry::Get().Members()[static_cast<size_t>(t)].visibility;
}

std::optional<ParseError> ParseRequest(std::string_view text, std::vector<ParsedEvent>* out,
                                       bool* is_batch, bool allow_erasure) {
  // One parser per thread: simdjson parsers are reusable and not thread-safe.
  // The engine checks this first too (engine.cc, Prepare); repeated here so that
  // no caller of the codec can make simdjson allocate for an unbounded input.
  if (text.size() > kRequestBytesMax)
    return ParseError{"the request is " + std::to_string(text.size()) +
                          " bytes, over the limit of " + std::to_string(kRequestBytesMax),
                      std::nullopt};
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto err = parser.parse(text.data(), text.size(), true).get(root);
  if (err) return ParseError{std::string("not valid JSON: ") + simdjson::error_message(err), std::nullopt};
  *is_batch = root.type() == simdjson::dom::element_type::ARRAY;
  if (*is_batch) {
    auto arr = root.get_array().value_unsafe();
    if (arr.size() == 0) return ParseError{"a batch must hold at least one event", std::nullopt};
    // One event at a time, not resize(arr.size()): an item costs 3 bytes of
    // input ("{},") and an event hundreds, so a batch refused at its first
    // item must not have paid for all of them. Events past kBatchEventsMax
    // still parse (a malformed one is reported before the batch's size); they
    // cost real input bytes each.
    out->clear();
    out->reserve(std::min(arr.size(), kBatchEventsMax));
    size_t i = 0;
    for (auto el : arr) {
      if (auto e = ParseOne(el, &out->emplace_back(), allow_erasure)) {
        if (!e->id && i > 0) e->id = (*out)[0].id_text;
        e->message = "event " + std::to_string(i + 1) + " of the batch: " + e->message;
        return e;
      }
      ++i;
    }
    return std::nullopt;
  }
  out->resize(1);
  return ParseOne(root, &(*out)[0], allow_erasure);
}

std::optional<std::string> DecodeCorrectionData(ParsedEvent& correction, EventType target_type) {
  auto corrected = correction.data->getRoot<schema::EventData>().getEventCorrected();
  const UnionMember& member = Registry::Get().Members()[static_cast<size_t>(target_type)];
  if (IsCorrection(target_type)) return std::nullopt;  // target_not_found follows
  auto inner = capnp::toDynamic(corrected.initData());
  auto body = inner.init(member.field).as<capnp::DynamicStruct>();
  if (!correction.has_correction_data) return std::nullopt;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(correction.correction_data_json).get(root))
    return std::string("field 'data.data' is not valid JSON");
  std::vector<uint16_t> present;
  if (auto e = JsonToStruct(root, body, "data.data", true, &present, nullptr)) return e;
  auto list = corrected.initFields(static_cast<unsigned>(present.size()));
  for (unsigned i = 0; i < present.size(); ++i) list.set(i, present[i]);
  return std::nullopt;
}

std::unique_ptr<capnp::MallocMessageBuilder> MergeData(schema::EventData::Reader base,
                                                       schema::EventData::Reader partial,
                                                       capnp::List<uint16_t>::Reader fields) {
  auto msg = std::make_unique<capnp::MallocMessageBuilder>(512);
  msg->setRoot(base);
  auto root = capnp::toDynamic(msg->getRoot<schema::EventData>());
  auto preader = capnp::toDynamic(partial);
  KJ_IF_MAYBE(member, root.which()) {
    // A partial of another type cannot come from relais (a correction is
    // decoded against its target's type), only from a damaged log: keep the
    // base rather than get() an inactive member, which throws.
    KJ_IF_MAYBE(pmember, preader.which()) {
      if (*pmember != *member) return msg;
    } else {
      return msg;
    }
    auto out = root.get(*member).as<capnp::DynamicStruct>();
    auto in = preader.get(*member).as<capnp::DynamicStruct>();
    const StructMeta& sm = Registry::Get().Struct(out.getSchema());
    for (uint16_t ord : fields)
      for (const FieldMeta& m : sm.fields)
        if (m.ordinal == ord) {
          if (in.has(m.field) || !(m.field.getType().isStruct() || m.field.getType().isList() ||
                                   m.field.getType().isText() || m.field.getType().isData()))
            out.set(m.field, in.get(m.field));
        }
  }
  return msg;
}

namespace {

bool SplitStruct(capnp::DynamicStruct::Builder data, capnp::DynamicStruct::Builder personal) {
  const StructMeta& sm = Registry::Get().Struct(data.getSchema());
  bool any = false;
  for (const FieldMeta& m : sm.fields) {
    auto type = m.field.getType();
    if (m.personal) {
      if (!data.has(m.field)) continue;
      personal.set(m.field, data.asReader().get(m.field));
      // Keep presence (rules such as reason_required read it), drop the content.
      if (type.isText()) {
        data.set(m.field, capnp::Text::Reader(""));
      } else if (type.isStruct()) {
        data.init(m.field);
      }
      any = true;
    } else if (type.isStruct() && data.has(m.field)) {
      auto inner = data.get(m.field).as<capnp::DynamicStruct>();
      auto pinner = personal.init(m.field).as<capnp::DynamicStruct>();
      KJ_IF_MAYBE(member, inner.which()) {
        // A union (EventCorrected.data): split its active member.
        auto pm = pinner.init(*member).as<capnp::DynamicStruct>();
        any |= SplitStruct(inner.get(*member).as<capnp::DynamicStruct>(), pm);
      } else {
        any |= SplitStruct(inner, pinner);
      }
    }
  }
  return any;
}

void MergeStruct(capnp::DynamicStruct::Builder data, capnp::DynamicStruct::Reader personal) {
  const StructMeta& sm = Registry::Get().Struct(data.getSchema());
  for (const FieldMeta& m : sm.fields) {
    auto type = m.field.getType();
    if (m.personal) {
      if (personal.has(m.field)) data.set(m.field, personal.get(m.field));
    } else if (type.isStruct() && personal.has(m.field) && data.has(m.field)) {
      auto inner = data.get(m.field).as<capnp::DynamicStruct>();
      auto pinner = personal.get(m.field).as<capnp::DynamicStruct>();
      KJ_IF_MAYBE(member, inner.which()) {
        KJ_IF_MAYBE(pmember, pinner.which()) {
          if (*pmember == *member)
            MergeStruct(inner.get(*member).as<capnp::DynamicStruct>(),
                        pinner.get(*member).as<capnp::DynamicStruct>());
        }
      } else {
        MergeStruct(inner, pinner);
      }
    }
  }
}

}  // namespace

bool SplitPersonal(schema::EventData::Builder data, schema::EventData::Builder personal) {
  if (!Registry::Get().HasPersonal(static_cast<size_t>(data.which()))) return false;
  auto d = capnp::toDynamic(data);
  auto p = capnp::toDynamic(personal);
  KJ_IF_MAYBE(member, d.which()) {
    auto pm = p.init(*member).as<capnp::DynamicStruct>();
    return SplitStruct(d.get(*member).as<capnp::DynamicStruct>(), pm);
  }
  return false;
}

void MergePersonal(schema::EventData::Builder data, schema::EventData::Reader personal) {
  auto d = capnp::toDynamic(data);
  auto p = capnp::toDynamic(personal);
  KJ_IF_MAYBE(member, d.which()) {
    KJ_IF_MAYBE(pmember, p.which()) {
      if (*pmember == *member)
        MergeStruct(d.get(*member).as<capnp::DynamicStruct>(),
                    p.get(*member).as<capnp::DynamicStruct>());
    }
  }
}

void DataToJson(schema::EventData::Reader data, JsonWriter& w, PersonalFields personal) {
  auto d = capnp::toDynamic(data);
  KJ_IF_MAYBE(member, d.which()) {
    StructToJson(d.get(*member).as<capnp::DynamicStruct>(), w, nullptr,
                 personal == PersonalFields::kOmit);
  } else {
    w.BeginObject().EndObject();
  }
}

std::string_view EventTypeName(EventType t) {
  const auto& members = Registry::Get().Members();
  size_t i = static_cast<size_t>(t);
  return i < members.size() ? std::string_view(members[i].type_name) : std::string_view("?");
}

}  // namespace relais::codec

namespace relais {

std::string_view EventTypeName(EventType t) { return codec::EventTypeName(t); }

std::optional<EventType> EventTypeFromName(std::string_view name) {
  const auto* m = codec::MemberByName(name);
  if (!m) return std::nullopt;
  return static_cast<EventType>(m->field.getProto().getDiscriminantValue());
}

std::string_view EnumJsonName(capnp::EnumSchema schema, uint16_t value) {
  return codec::EnumNameOf(schema, value);
}

bool IsCorrection(EventType t) {
  return t == EventType::kEventCorrected || t == EventType::kEventRetracted;
}

sc::Visibility TypeVisibility(EventType t) { return codec::DeclaredVisibility(t); }

sc::Visibility VisibilityOf(EventType t, const Fact& fact) {
  if (t == EventType::kDifficultyReported && fact.category == sc::DifficultyCategory::MENTAL_HEALTH)
    return sc::Visibility::HEALTH;
  return codec::DeclaredVisibility(t);
}

const std::vector<std::string>& PersonalFieldNames(EventType t) {
  // Built once from the registry: the schema is the one source of truth.
  static const std::vector<std::vector<std::string>> names = [] {
    std::vector<std::vector<std::string>> out;
    const auto& registry = codec::Registry::Get();
    for (const auto& member : registry.Members()) {
      std::vector<std::string> v;
      for (const auto& f : registry.Struct(member.field.getType().asStruct()).fields)
        if (f.personal) v.push_back(f.name);
      out.push_back(std::move(v));
    }
    return out;
  }();
  return names[static_cast<size_t>(t)];
}

namespace {

// One field of the schema as a form sees it: type, bounds, enum values.
void DescribeType(capnp::Type t, const codec::FieldMeta* m, std::string* type,
                  std::vector<std::string>* values, std::string* enum_name,
                  std::vector<SchemaField>* fields);

std::vector<SchemaField> DescribeStruct(capnp::StructSchema s) {
  std::vector<SchemaField> out;
  for (const codec::FieldMeta& m : codec::Registry::Get().Struct(s).fields) {
    if (m.hidden) continue;
    SchemaField f;
    f.name = m.name;
    f.required = !m.optional;
    f.required_if_field = m.required_if_field;
    f.required_if_value = m.required_if_value;
    f.min = m.min;
    f.max = m.max;
    f.min_items = m.min_items;
    f.max_items = m.max_items;
    f.personal = m.personal;
    f.bare_id = m.bare_id;
    if (m.correction_data) {
      f.type = "correction";
    } else if (m.field.getType().isList()) {
      f.type = "list";
      DescribeType(m.field.getType().asList().getElementType(), nullptr, &f.item_type,
                   &f.item_values, &f.item_enum_name, &f.fields);
    } else {
      DescribeType(m.field.getType(), &m, &f.type, &f.values, &f.enum_name, &f.fields);
    }
    if (f.type == "text") f.max_bytes = codec::kTextBytesMax;
    out.push_back(std::move(f));
  }
  return out;
}

void DescribeType(capnp::Type t, const codec::FieldMeta* m, std::string* type,
                  std::vector<std::string>* values, std::string* enum_name,
                  std::vector<SchemaField>* fields) {
  using capnp::schema::Type;
  switch (t.which()) {
    case Type::BOOL: *type = "boolean"; return;
    case Type::INT8: case Type::INT16: case Type::INT32: case Type::INT64:
    case Type::UINT8: case Type::UINT16: case Type::UINT32: case Type::UINT64:
      *type = m && m->date ? "date" : "integer";
      return;
    case Type::TEXT: *type = "text"; return;
    case Type::DATA: *type = "uuid"; return;
    case Type::ENUM:
      *type = "enum";
      *values = codec::Registry::Get().Enum(t.asEnum()).names;
      *enum_name = t.asEnum().getShortDisplayName().cStr();
      return;
    case Type::STRUCT:
      *type = "object";
      *fields = DescribeStruct(t.asStruct());
      return;
    default: *type = "unsupported"; return;
  }
}

}  // namespace

const std::vector<SchemaEventType>& EventSchema() {
  static const std::vector<SchemaEventType>* schema = [] {
    auto* out = new std::vector<SchemaEventType>();
    const auto& registry = codec::Registry::Get();
    for (size_t i = 0; i < registry.Members().size(); ++i) {
      const auto& member = registry.Members()[i];
      SchemaEventType e;
      e.type = static_cast<EventType>(i);
      e.name = member.type_name;
      // The annotations' enums are not reachable from the stored event (the
      // registry's), and their enumerants are single lower-case words.
      e.stream = capnp::Schema::from<schema::StreamKind>()
                     .getEnumerants()[static_cast<uint16_t>(member.stream)]
                     .getProto()
                     .getName()
                     .cStr();
      e.visibility = capnp::Schema::from<schema::Visibility>()
                         .getEnumerants()[static_cast<uint16_t>(member.visibility)]
                         .getProto()
                         .getName()
                         .cStr();
      e.fields = DescribeStruct(member.field.getType().asStruct());
      out->push_back(std::move(e));
    }
    return out;
  }();
  return *schema;
}

}  // namespace relais
