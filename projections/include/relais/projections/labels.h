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

#include <string>
#include <string_view>

namespace relais::labels {

// "HouseholdRegistered" → "Inscription du ménage".
std::string_view EventType(std::string_view type);

// A field of an event's `data` (or of the envelope: "effectiveDate",
// "recordedAt", "actor"...), by its JSON name: "dwellingId" → "logement".
// `type` lets one name read differently per event type; pass "" for the
// general label.
std::string_view Field(std::string_view type, std::string_view field);

// An enum value, by the schema's enum name and the value's JSON spelling:
// ("Contract", "sublease") → "sous-location (bail glissant)".
std::string_view Value(std::string_view enum_name, std::string_view value);

// A refusal code of events.md §4 / lifecycle.md: "household_erased" → "…".
std::string_view RefusalCode(std::string_view code);

// A role of interfaces.md: "tenancy_staff" → "gestion locative".
std::string_view Role(std::string_view role);

// An indicator of time-and-indicators.md §4 by its report key, with its
// one-sentence French definition ("" when it has none).
struct Indicator {
  std::string_view label;
  std::string_view definition;
};
Indicator IndicatorLabel(std::string_view key);

// "2016-03-12" → "12 mars 2016" (and "2016-03-01" → "1er mars 2016"); an
// instant "2016-03-12T08:30:00Z" → "12 mars 2016 à 08 h 30 (UTC)". Anything
// that is not a date or an instant is returned unchanged.
std::string FrenchDate(std::string_view iso);

}  // namespace relais::labels
