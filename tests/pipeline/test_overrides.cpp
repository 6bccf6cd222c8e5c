// --set overrides on the YAML tree.
#include <gtest/gtest.h>

#include "deeplab/pipeline.h"
#include "overrides.h"

using deeplab::pipeline::apply_override;
using deeplab::pipeline::Context;

namespace {

YAML::Node apply(const std::string& yaml, const std::vector<std::string>& overrides) {
  YAML::Node root = YAML::Load(yaml);
  Context ctx("t.yaml");
  for (const auto& o : overrides) apply_override(root, o, ctx);
  return root;
}

std::string error_of(const std::string& yaml, const std::string& override_text) {
  try {
    apply(yaml, {override_text});
  } catch (const deeplab::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Overrides, SetsNestedKeysAndCreatesMaps) {
  const YAML::Node root = apply("source: {type: file, path: a.mp4}\n", {"source.path=b.mp4", "segmentation.threads=2",
                                                                         "a.b.c=deep"});
  EXPECT_EQ(root["source"]["path"].as<std::string>(), "b.mp4");
  EXPECT_EQ(root["source"]["type"].as<std::string>(), "file");
  EXPECT_EQ(root["segmentation"]["threads"].as<int>(), 2);
  EXPECT_EQ(root["a"]["b"]["c"].as<std::string>(), "deep");
}

TEST(Overrides, ListItemsByIndexAndAppend) {
  const YAML::Node root =
      apply("outputs:\n  - {type: file, path: a.mp4}\n", {"outputs.0.path=o.mp4", "outputs.1.type=display", "outputs.2={type: masks}"});
  ASSERT_EQ(root["outputs"].size(), 3u);
  EXPECT_EQ(root["outputs"][0]["path"].as<std::string>(), "o.mp4");
  EXPECT_EQ(root["outputs"][0]["type"].as<std::string>(), "file");
  EXPECT_EQ(root["outputs"][1]["type"].as<std::string>(), "display");
  EXPECT_EQ(root["outputs"][2]["type"].as<std::string>(), "masks");
  const YAML::Node fresh = apply("", {"outputs.0.type=file"});
  ASSERT_TRUE(fresh["outputs"].IsSequence());
  EXPECT_EQ(fresh["outputs"][0]["type"].as<std::string>(), "file");
}

TEST(Overrides, ValuesAreYaml) {
  const YAML::Node root = apply("", {"a=[person, car]", "b={x: 1}", "c=%05d.png", "d=", "e=true", "f=a=b"});
  ASSERT_TRUE(root["a"].IsSequence());
  EXPECT_EQ(root["a"][1].as<std::string>(), "car");
  EXPECT_EQ(root["b"]["x"].as<int>(), 1);
  EXPECT_EQ(root["c"].as<std::string>(), "%05d.png");  // not valid YAML on its own: taken as text
  EXPECT_EQ(root["d"].as<std::string>(), "");
  EXPECT_EQ(root["e"].as<std::string>(), "true");
  EXPECT_EQ(root["f"].as<std::string>(), "a=b");  // only the first '=' separates
}

TEST(Overrides, BadOverridesAreConfigErrors) {
  EXPECT_EQ(error_of("", "source.path"), "--set source.path: expected KEY=VALUE, e.g. outputs.0.path=out.mp4");
  EXPECT_EQ(error_of("", "source..path=x"), "--set source..path=x: empty key segment in 'source..path' (write a.b.c=value)");
  EXPECT_EQ(error_of("outputs: [{type: file}]\n", "outputs.3.path=x"),
            "--set outputs.3.path=x: 'outputs' has 1 items: index 3 is out of range (1 appends one)");
  EXPECT_EQ(error_of("outputs: [{type: file}]\n", "outputs.first.path=x"),
            "--set outputs.first.path=x: 'outputs' is a list: expected an index, got 'first'");
  EXPECT_EQ(error_of("source: {path: a.mp4}\n", "source.path.x=1"),
            "--set source.path.x=1: 'source.path' is 'a.mp4', not a mapping or a list: cannot set 'x' inside it");
}
