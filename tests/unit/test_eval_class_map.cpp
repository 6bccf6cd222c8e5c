// deeplab-eval's class map: the tables it builds from YAML, and every kind of mistake refused with
// kInvalidArgument naming FILE:LINE:COLUMN of the node at fault.
#include <gtest/gtest.h>

#include <string>

#include "deeplab/error.h"
#include "eval/class_map.h"

using namespace deeplab;
using namespace deeplab::eval;

namespace {

constexpr int kVocClasses = 21;

const char* const kExample =
    "classes: [background, car, person]\n"
    "labels: {default: 0, ignore: [10, 11], map: {8: 1, 9: 2}}\n"
    "predictions: {default: 0, map: {7: 1, 15: 2}}\n";

// The message of the Error that parsing `text` throws (fails the test when it does not throw).
std::string parse_error(const std::string& text, int model_classes = kVocClasses) {
  try {
    parse_class_map(text, "map.yaml", model_classes);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

TEST(EvalClassMap, ParsesTheExample) {
  const ClassMap map = parse_class_map(kExample, "map.yaml", kVocClasses);
  ASSERT_EQ(map.classes, (std::vector<std::string>{"background", "car", "person"}));
  for (int v = 0; v < 256; ++v) {
    const int expected = v == 8 ? 1 : v == 9 ? 2 : v == 10 || v == 11 ? kIgnore : 0;
    EXPECT_EQ(map.labels[v], expected) << "label " << v;
  }
  for (int c = 0; c < kVocClasses; ++c) {
    const int expected = c == 7 ? 1 : c == 15 ? 2 : 0;
    EXPECT_EQ(map.predictions[c], expected) << "model class " << c;
  }
}

TEST(EvalClassMap, ClassesByNameAndIgnoredDefault) {
  const ClassMap map = parse_class_map(
      "classes: [road, car]\n"
      "labels:\n"
      "  default: ignore\n"
      "  map: {3: road, 8: car}\n"
      "predictions: {default: road, map: {7: car}}\n",
      "map.yaml", kVocClasses);
  EXPECT_EQ(map.labels[3], 0);
  EXPECT_EQ(map.labels[8], 1);
  EXPECT_EQ(map.labels[0], kIgnore);
  EXPECT_EQ(map.labels[255], kIgnore);
  EXPECT_EQ(map.predictions[7], 1);
  EXPECT_EQ(map.predictions[0], 0);
}

TEST(EvalClassMap, ShippedCamvidMapFollowsTheSharedReadme) {
  const ClassMap map = load_class_map(std::string(DEEPLAB_SOURCE_DIR) + "/configs/eval/camvid-voc.yaml", kVocClasses);
  ASSERT_EQ(map.classes, (std::vector<std::string>{"background", "car", "person"}));
  for (int v = 0; v <= 11; ++v) {
    const int expected = v == 8 ? 1 : v == 9 ? 2 : v >= 10 ? kIgnore : 0;
    EXPECT_EQ(map.labels[v], expected) << "CamVid label " << v;
  }
  for (int c = 0; c < kVocClasses; ++c) EXPECT_EQ(map.predictions[c], c == 7 ? 1 : c == 15 ? 2 : 0) << "VOC class " << c;
}

// CamVid's 11 classes for a Cityscapes model: the labels are the identity (11 = void, ignored), and
// every one of the 19 Cityscapes trainIds goes to the CamVid class that holds it (the YAML's comment).
TEST(EvalClassMap, ShippedCamvid11CityscapesMapCoversEveryClass) {
  constexpr int kCityscapesClasses = 19;
  const ClassMap map =
      load_class_map(std::string(DEEPLAB_SOURCE_DIR) + "/configs/eval/camvid11-cityscapes.yaml", kCityscapesClasses);
  const std::vector<std::string> camvid = {"sky",  "building", "pole", "road",       "sidewalk", "tree",
                                           "sign", "fence",    "car",  "pedestrian", "bicyclist"};
  ASSERT_EQ(map.classes, camvid);
  for (int v = 0; v <= 10; ++v) EXPECT_EQ(map.labels[v], v) << "CamVid label " << v;
  EXPECT_EQ(map.labels[11], kIgnore);
  // road sidewalk building wall fence pole light sign vegetation terrain sky person rider car truck
  // bus train motorcycle bicycle
  const char* const expected[kCityscapesClasses] = {"road", "sidewalk", "building", "building", "fence",
                                                    "pole", "sign",     "sign",     "tree",     "tree",
                                                    "sky",  "pedestrian", "bicyclist", "car", "car",
                                                    "car",  "car",      "bicyclist", "bicyclist"};
  for (int c = 0; c < kCityscapesClasses; ++c) {
    ASSERT_LT(map.predictions[c], camvid.size()) << "Cityscapes class " << c << " is not mapped";
    EXPECT_EQ(camvid[map.predictions[c]], expected[c]) << "Cityscapes class " << c;
  }
}

TEST(EvalClassMap, ShippedVocMapIsTheIdentity) {
  const ClassMap map = load_class_map(std::string(DEEPLAB_SOURCE_DIR) + "/configs/eval/voc.yaml", kVocClasses);
  ASSERT_EQ(map.classes.size(), static_cast<std::size_t>(kVocClasses));
  EXPECT_EQ(map.classes[5], "bottle");
  EXPECT_EQ(map.classes[15], "person");
  for (int c = 0; c < kVocClasses; ++c) {
    EXPECT_EQ(map.labels[c], c) << "label " << c;
    EXPECT_EQ(map.predictions[c], c) << "model class " << c;
  }
  EXPECT_EQ(map.labels[255], kIgnore);
  EXPECT_EQ(map.labels[21], 0);
}

TEST(EvalClassMap, MapIdsAppliesTheTable) {
  const ClassMap map = parse_class_map(kExample, "map.yaml", kVocClasses);
  const std::uint8_t in[] = {0, 8, 9, 10, 11, 3, 255};
  std::uint8_t out[7] = {};
  map_ids(map.labels, in, out, 7);
  const std::uint8_t expected[] = {0, 1, 2, kIgnore, kIgnore, 0, 0};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

TEST(EvalClassMap, UnknownKeysNameLineAndColumn) {
  EXPECT_EQ(parse_error(std::string(kExample) + "extra: 1\n"),
            "map.yaml:4:1: unknown key 'extra' (expected classes, labels, predictions)");
  EXPECT_EQ(parse_error("classes: [a, b]\n"
                        "labels: {default: 0, ignor: [1]}\n"
                        "predictions: {default: 0}\n"),
            "map.yaml:2:22: unknown key 'labels.ignor' (expected default, ignore, map)");
  // predictions cannot ignore: every pixel has a prediction.
  EXPECT_EQ(parse_error("classes: [a, b]\n"
                        "labels: {default: 0}\n"
                        "predictions: {default: 0, ignore: [3]}\n"),
            "map.yaml:3:27: unknown key 'predictions.ignore' (expected default, map)");
}

TEST(EvalClassMap, MissingKeys) {
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0}\n"), "map.yaml:1:1: missing key 'predictions'");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {map: {1: 1}}\npredictions: {default: 0}\n"),
            "map.yaml:2:9: missing key 'labels.default'");
  EXPECT_NE(parse_error("").find("map.yaml"), std::string::npos);
  EXPECT_NE(parse_error("").find("expected a mapping"), std::string::npos);
}

TEST(EvalClassMap, OutOfRangeIds) {
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, map: {256: 1}}\npredictions: {default: 0}\n"),
            "map.yaml:2:28: labels.map: label value: 256 is out of range 0..255");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, ignore: [-1]}\npredictions: {default: 0}\n"),
            "map.yaml:2:31: labels.ignore: label value: -1 is out of range 0..255");
  // The model has 21 classes: 21 is not one of them.
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0}\npredictions: {default: 0, map: {21: 1}}\n"),
            "map.yaml:3:33: predictions.map: model class: 21 is out of range 0..20");
  // Class index 2 with two classes.
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, map: {5: 2}}\npredictions: {default: 0}\n"),
            "map.yaml:2:31: labels.map[5]: 2 is out of range 0..1");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 7}\npredictions: {default: 0}\n"),
            "map.yaml:2:19: labels.default: 7 is out of range 0..1");
}

TEST(EvalClassMap, BadValues) {
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, map: {8.5: 1}}\npredictions: {default: 0}\n"),
            "map.yaml:2:28: labels.map: label value: '8.5' is not an integer");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, map: {8: bus}}\npredictions: {default: 0}\n"),
            "map.yaml:2:31: labels.map[8]: unknown class 'bus' (classes: a, b)");
  EXPECT_EQ(parse_error("classes: [a, a]\nlabels: {default: 0}\npredictions: {default: 0}\n"),
            "map.yaml:1:14: classes: 'a' listed twice");
  EXPECT_EQ(parse_error("classes: []\nlabels: {default: 0}\npredictions: {default: 0}\n"),
            "map.yaml:1:10: classes: expected a non-empty list of names");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, ignore: 3}\npredictions: {default: 0}\n"),
            "map.yaml:2:30: labels.ignore: expected a list of label values");
}

TEST(EvalClassMap, ConflictingAssignments) {
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, ignore: [8], map: {8: 1}}\npredictions: {default: 0}\n"),
            "map.yaml:2:41: labels.map: label value 8 is already mapped or ignored");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0, ignore: [3, 3]}\npredictions: {default: 0}\n"),
            "map.yaml:2:34: labels.ignore: label value 3 listed twice");
  EXPECT_EQ(parse_error("classes: [a, b]\nlabels: {default: 0}\nlabels: {default: 1}\npredictions: {default: 0}\n"),
            "map.yaml:3:1: key 'labels' given twice");
}

TEST(EvalClassMap, InvalidYamlNamesThePosition) {
  const std::string message = parse_error("classes: [a, b\nlabels: {default: 0}\n");
  EXPECT_EQ(message.rfind("map.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find("not valid YAML"), std::string::npos) << message;
}

TEST(EvalClassMap, MissingFileIsNotFound) {
  try {
    load_class_map("/nonexistent/map.yaml", kVocClasses);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/map.yaml"), std::string::npos);
  }
}

}  // namespace
