// The French label catalogue: the one place where every human rendering
// (the household's file, the tenancy record, the evaluator's report, the
// console) finds the words for the contract's names. Program interfaces
// (JSON, CSV, Markdown, NDJSON) keep the contract's English names and never
// go through here.
//
// Every function falls back to English (the contract's own name) when a key
// has no French label, so that a rendering never shows an empty cell; the
// catalogue's completeness is checked by labels_test against the schema
// instead (a missing label is a test failure, not a blank page).
//
// Thread-safety: the catalogue is immutable static data; every function is
// safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relais::labels {

// "HouseholdRegistered" → "Inscription du ménage".
std::string_view EventType(std::string_view type);

// A field of an event's `data` (or of the envelope: "effectiveDate",
// "recordedAt", "actor"...), by its JSON name: "dwellingId" → "logement".
// `type` lets one name read differently per event type; pass "" for the
// general label.
std::string_view Field(std::string_view type, std::string_view field);

// An enum value, by the schema's enum name and the value's JSON spelling:
// ("Contract", "sublease") → "sous-location par une association (bail
// glissant)". An enum the catalogue does not know by name falls back to the
// first value with that spelling, then to the spelling itself.
std::string_view Value(std::string_view enum_name, std::string_view value);

// A refusal code of events.md §4 / lifecycle.md: "household_erased" → "…".
std::string_view RefusalCode(std::string_view code);

// A role of interfaces.md: "tenancy_staff" → "gestion locative".
std::string_view Role(std::string_view role);

// An endpoint of the access journal ("/v1/streams/status" → "consultation
// de la situation"). Unlike the other lookups, an unknown endpoint reads
// "autre consultation": a path is never shown to a household.
std::string_view Endpoint(std::string_view endpoint);

// An indicator of time-and-indicators.md §4 by its report key, with its
// one-sentence French definition ("" when it has none).
struct Indicator {
  std::string_view label;
  std::string_view definition;
};
Indicator IndicatorLabel(std::string_view key);

// The other words of the evaluator's report page, by key: section titles
// ("section.demand" → "Demande"), column heads, units ("unit.days"), the
// programme's targets ("target.range", with {min} and {max}), chart and axis
// titles, short month names ("month.03"), the footer. Falls back to the key.
std::string_view ReportText(std::string_view key);

// "2016-03-12" → "12 mars 2016" (and "2016-03-01" → "1er mars 2016"); an
// instant "2016-03-12T08:30:00Z" → "12 mars 2016 à 08 h 30 (UTC)". Anything
// that is not a date or an instant is returned unchanged.
std::string FrenchDate(std::string_view iso);

// true → "oui", false → "non".
std::string_view Bool(bool b);

// Integer cents as French money: 123456 → "1 234,56 €" (narrow no-break
// space between thousands, no-break space before the sign).
std::string Money(int64_t cents);

// The catalogue's own entries (key, French), for a client that renders by
// itself (the console, through GET /v1/schema): every refusal code, every
// enum value keyed "Enum.value" (status values and caseload actions
// included), every role.
using Entries = std::vector<std::pair<std::string_view, std::string_view>>;
const Entries& AllRefusalCodes();
const Entries& AllValues();
const Entries& AllRoles();
const Entries& AllFields();  // "field" and "Type.field"

// Whether the catalogue itself has a label (no English fallback): what
// labels_test checks against the schema. HasValue looks for the exact enum;
// the status values that are not schema enums are under "ReferralStatus",
// "EpisodeStatus" and "ProcedureStage", booleans under "Bool".
bool HasEventType(std::string_view type);
bool HasField(std::string_view field);
bool HasValue(std::string_view enum_name, std::string_view value);
bool HasRefusalCode(std::string_view code);
bool HasRole(std::string_view role);
bool HasEndpoint(std::string_view endpoint);
bool HasIndicator(std::string_view key);
bool HasReportText(std::string_view key);
// The rows of time-and-indicators.md §4 carry a definition.
bool HasIndicatorDefinition(std::string_view key);

}  // namespace relais::labels
