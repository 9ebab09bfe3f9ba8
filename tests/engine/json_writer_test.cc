#include "relais/json_writer.h"

#include <gtest/gtest.h>

namespace relais {
namespace {

TEST(JsonWriterTest, CompactObjectsArraysAndEscapes) {
  JsonWriter w;
  w.BeginObject().Key("a").Int(-3).Key("b").BeginArray().String("x\"y").Bool(true).Null();
  w.EndArray().Key("c").BeginObject().EndObject().Key("d").Double(1).EndObject();
  EXPECT_EQ(w.str(), R"({"a":-3,"b":["x\"y",true,null],"c":{},"d":1.0})");
}

// The generator writes every event's data through one writer: after Clear()
// nothing of the previous document may leak (no leading comma, no open container).
TEST(JsonWriterTest, ClearStartsAFreshDocument) {
  JsonWriter w;
  w.BeginObject().Key("a").BeginArray().Int(1);
  EXPECT_EQ(w.depth(), 2u);
  w.Clear();
  EXPECT_EQ(w.depth(), 0u);
  EXPECT_EQ(w.str(), "");
  w.BeginObject().Key("b").String("c");
  EXPECT_EQ(w.depth(), 1u);
  w.EndObject();
  EXPECT_EQ(w.depth(), 0u);
  EXPECT_EQ(w.str(), R"({"b":"c"})");
  w.Clear();
  w.Key("k");  // a key left pending is forgotten too
  w.Clear();
  w.BeginArray().Int(2).EndArray();
  EXPECT_EQ(w.str(), "[2]");
}

}  // namespace
}  // namespace relais
