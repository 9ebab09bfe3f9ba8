// Checks CloudEvents against the CloudEvents JSON schema
// (tests/data/cloudevents/cloudevents.json, copied from cloudevents/spec) and
// the core rules the schema leaves out (extension attribute names and
// types), plus relais's own attributes (docs/sink.md "CloudEvents").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace relais::testing {

// gtest failures for every event (one JSON object each) that breaks a rule;
// `expected_count` events expected, with distinct ids.
void ExpectCloudEvents(const std::vector<std::string>& events, size_t expected_count);

}  // namespace relais::testing
