// deeplab-batch's pieces in-process (label unit): JSON strings written by hand and read back by
// yaml-cpp, shard selection from options and from Slurm's and Kubernetes' variables, input lists and
// the names of the videos' folders, the manifest's skip rule, the file outputs found in launch
// arguments.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "batch/inputs.h"
#include "batch/json_line.h"
#include "batch/manifest.h"
#include "batch/video_folder.h"
#include "deeplab/error.h"

namespace fs = std::filesystem;
using namespace deeplab::batch;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(DEEPLAB_CLUSTER_TEST_WORK_DIR) / "units" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(BatchJson, StringsRoundTripThroughYamlCpp) {
  const std::string tricky[] = {"plain", "a \"quoted\" \\ path", "line\nbreak\ttab\r", std::string("nul\0x", 5),
                                "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x9c\x93", ""};
  for (const std::string& s : tricky) {
    const std::string line = JsonObject().add("input", s).add("n", std::int64_t{-3}).add("x", 0.25).str();
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;  // one line, whatever the text
    YAML::Node node;
    ASSERT_TRUE(parse_json_object(line, node)) << line;
    EXPECT_EQ(node["input"].as<std::string>(), s) << line;
    EXPECT_EQ(node["n"].as<int>(), -3);
    EXPECT_DOUBLE_EQ(node["x"].as<double>(), 0.25);
  }
  EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(JsonObject().add("inf", 1.0 / 0.0).str(), "{\"inf\": null}");
  YAML::Node node;
  EXPECT_FALSE(parse_json_object("[1, 2]", node));
  EXPECT_FALSE(parse_json_object("{\"input\": \"cut", node));
}

TEST(BatchShard, FromOptionSlurmAndKubernetes) {
  EXPECT_EQ(resolve_shard("2/5", 0, {}).text(), "2/5");
  EXPECT_EQ(resolve_shard("", 0, {}).text(), "0/1");
  // Slurm: the task id counted from the array's first id, the count from its range
  const std::map<std::string, std::string> slurm = {
      {"SLURM_ARRAY_TASK_ID", "12"}, {"SLURM_ARRAY_TASK_MIN", "10"}, {"SLURM_ARRAY_TASK_MAX", "13"}};
  EXPECT_EQ(resolve_shard("", 0, slurm).text(), "2/4");
  EXPECT_EQ(resolve_shard("", 20, slurm).text(), "12/20");  // with --shard-count the ids are the indexes
  EXPECT_EQ(resolve_shard("1/2", 0, slurm).text(), "1/2");  // --shard wins over everything
  EXPECT_EQ(resolve_shard("", 3, {{"JOB_COMPLETION_INDEX", "2"}}).text(), "2/3");
  const Shard s = resolve_shard("1/3", 0, {});
  EXPECT_FALSE(s.takes(0));
  EXPECT_TRUE(s.takes(1));
  EXPECT_TRUE(s.takes(4));
}

TEST(BatchShard, ErrorsNameTheCulprit) {
  auto message = [](const std::string& arg, std::size_t count, const std::map<std::string, std::string>& env) {
    try {
      resolve_shard(arg, count, env);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("3/3", 0, {}), "--shard 3/3: shard 3 is not below the count 3");
  EXPECT_EQ(message("1/0", 0, {}), "--shard 1/0: the shard count must be at least 1");
  EXPECT_EQ(message("a/2", 0, {}), "--shard: expected a non-negative integer, got 'a'");
  EXPECT_EQ(message("-1/2", 0, {}), "--shard: expected a non-negative integer, got '-1'");
  EXPECT_EQ(message("", 0, {{"JOB_COMPLETION_INDEX", "0"}}),
            "JOB_COMPLETION_INDEX is set: give --shard-count (the Job's completions)");
  EXPECT_EQ(message("", 0, {{"SLURM_ARRAY_TASK_ID", "1"}}),
            "SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MAX: give --shard-count");
  EXPECT_EQ(message("", 10, {{"SLURM_ARRAY_TASK_ID", "10"}}), "Slurm array task 10: shard 10 is not below the count 10");
  EXPECT_EQ(message("", 4, {}),
            "--shard-count needs a shard index: --shard I/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX");
}

TEST(BatchInputs, ListsJsonlGlobsAndNames) {
  const fs::path dir = scratch("inputs");
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  for (const char* f : {"a/clip.mp4", "b/clip.mp4", "b/x y!.mp4", "logs.mp4"}) write(dir / f, "");
  write(dir / "list.txt", "# comment\n\na/clip.mp4\n  b/clip.mp4  \n" + (dir / "b/x y!.mp4").string() + "\nlogs.mp4\na/clip.mp4\n");
  const std::vector<Video> v = load_videos({(dir / "list.txt").string()});
  ASSERT_EQ(v.size(), 4u);  // the second a/clip.mp4 is dropped
  EXPECT_EQ(v[0].path, (dir / "a/clip.mp4").string());  // relative to the list's folder
  EXPECT_EQ(v[0].name, "clip");
  EXPECT_EQ(v[1].name, "clip-2");
  EXPECT_EQ(v[2].name, "x_y_");
  EXPECT_EQ(v[3].name, "logs-2");  // "logs" is the log folder's name
  write(dir / "m.jsonl", "{\"input\": \"a/clip.mp4\", \"status\": \"ok\"}\n\n{\"path\": \"b/clip.mp4\"}\n");
  const std::vector<Video> j = load_videos({(dir / "m.jsonl").string()});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1].path, (dir / "b/clip.mp4").string());
  const std::vector<Video> g = load_videos({(dir / "*/clip.mp4").string()});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].path, (dir / "a/clip.mp4").string());  // sorted
  write(dir / "bad.jsonl", "{\"input\": \"a\"}\nnot json\n");
  EXPECT_THROW(load_videos({(dir / "bad.jsonl").string()}), UsageError);
  EXPECT_THROW(load_videos({(dir / "none*.mp4").string()}), UsageError);
  EXPECT_THROW(load_videos({(dir / "missing.txt").string()}), UsageError);
}

TEST(BatchManifest, CompleteOnlyWithSameStampAndOutputs) {
  const fs::path dir = scratch("manifest");
  write(dir / "v.mp4", "12345");
  fs::create_directories(dir / "out/v");
  write(dir / "out/v/overlay.mp4", "x");
  Record r;
  r.input = (dir / "v.mp4").string();
  r.status = "ok";
  std::string why;
  ASSERT_TRUE(stamp_input(r.input, r.stamp, why)) << why;
  EXPECT_EQ(r.stamp.size, 5);
  r.dir = (dir / "out/v").string();
  r.outputs = {{"file", "file", (dir / "out/v/overlay.mp4").string(), 3},
               {"masks", "masks", (dir / "out/v/masks/%05d.png").string(), 3}};
  Manifest writer((dir / "manifest.jsonl").string());
  Record failed = r;
  failed.status = "failed";
  writer.append(failed);
  writer.append(r);
  std::ofstream(dir / "manifest.jsonl", std::ios::app) << "{\"input\": \"torn";  // a torn last line is skipped
  Record other = r;
  other.input = "other.mp4";
  writer.append(other);  // starts on a line of its own after the torn one
  Manifest m((dir / "manifest.jsonl").string());
  m.load();
  EXPECT_TRUE(m.complete(r.input, r.stamp));
  InputStamp touched = r.stamp;
  touched.mtime_ns += 1;
  EXPECT_FALSE(m.complete(r.input, touched));
  EXPECT_FALSE(m.complete("elsewhere.mp4", r.stamp));
  EXPECT_TRUE(m.complete("other.mp4", r.stamp));  // read back although it follows a torn line
  fs::remove(dir / "out/v/overlay.mp4");
  EXPECT_FALSE(m.complete(r.input, r.stamp));
  InputStamp none;
  EXPECT_FALSE(stamp_input((dir / "nope.mp4").string(), none, why));
  EXPECT_NE(why.find("No such file or directory"), std::string::npos) << why;
}

TEST(BatchOutputs, FoundInLaunchArgumentsAndCommitted) {
  const std::vector<std::string> args = {
      "filesrc", "name=src", "location=v.mp4", "!", "tee", "name=t", "t.", "!", "mp4mux", "!", "filesink",
      "name=out0_sink", "location=out/overlay.mp4", "sync=false", "t.", "!", "multifilesink", "name=out1_sink",
      "location=out/masks/%05d.png", "t.", "!", "appsink", "name=out2_sink"};
  const std::vector<FileOutput> outputs = file_outputs(args);
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].relative, "overlay.mp4");
  EXPECT_EQ(outputs[1].index, 1u);
  EXPECT_EQ(outputs[1].relative, "masks/%05d.png");
  EXPECT_EQ(output_count(args), 3u);
  EXPECT_THROW(file_outputs({"filesink", "name=out0_sink", "location=a/o.mp4", "filesink", "name=out1_sink",
                             "location=b/o.mp4"}),
               UsageError);

  const fs::path dir = scratch("folder");
  const VideoFolder folder(dir.string(), "v");
  EXPECT_EQ(folder.overrides(outputs)[1], "outputs.1.path=" + (dir / ".partial/v/masks/%05d.png").string());
  for (int round = 0; round < 2; ++round) {  // the second commit replaces the first (--force)
    folder.prepare();
    folder.write("classes.json", std::to_string(round));
    if (round == 0) EXPECT_FALSE(fs::exists(dir / "v"));  // nothing under the final name before commit()
    folder.commit();
    std::ifstream in(dir / "v/classes.json");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), std::to_string(round));
    EXPECT_FALSE(fs::exists(dir / ".partial/v"));
    EXPECT_FALSE(fs::exists(dir / ".partial/v.old"));
  }
  fs::remove_all(dir / "v");
  write(dir / "v", "a file where the folder would go");
  folder.prepare();
  EXPECT_THROW(folder.commit(), deeplab::Error);
}

}  // namespace
