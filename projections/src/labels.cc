// The French label catalogue (labels.h). The tables below are filled by the
// lifecycle issue's household file; until a key is there, its English name
// is returned.
#include "relais/projections/labels.h"

namespace relais::labels {

std::string_view EventType(std::string_view type) { return type; }
std::string_view Field(std::string_view, std::string_view field) { return field; }
std::string_view Value(std::string_view, std::string_view value) { return value; }
std::string_view RefusalCode(std::string_view code) { return code; }
std::string_view Role(std::string_view role) { return role; }
Indicator IndicatorLabel(std::string_view key) { return {key, ""}; }
std::string FrenchDate(std::string_view iso) { return std::string(iso); }

}  // namespace relais::labels
