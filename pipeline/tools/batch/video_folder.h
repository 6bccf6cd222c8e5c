// Where one video's outputs go. The configuration's file outputs (`file`: a video, `masks`: a PNG
// pattern) are redirected into a work folder, OUT/.partial/NAME/, and the whole folder is renamed
// to OUT/NAME/ once the run succeeded and every file is fsync'ed: a final folder is always complete
// (rename(2) of a folder is atomic on one filesystem), and a run killed by SIGKILL leaves only the
// work folder, which the next run over that video removes first.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace deeplab::batch {

struct FileOutput {
  std::size_t index = 0;  // outputs.K in the configuration
  std::string relative;   // its path inside the video's folder: "overlay.mp4", "masks/%05d.png"
};

// The file outputs of a pipeline, read from its launch arguments (the elements named outK_sink:
// filesink / multifilesink with their location, docs/pipelines.md); each keeps its file name (a
// masks pattern also its folder's name). Throws UsageError if there is none or two collide.
std::vector<FileOutput> file_outputs(const std::vector<std::string>& launch_args);
// The number of outputs (outK_sink elements) of the pipeline: the index an added output gets.
std::size_t output_count(const std::vector<std::string>& launch_args);

class VideoFolder {
 public:
  VideoFolder(const std::string& out_dir, const std::string& name);
  const std::string& work() const { return work_; }
  const std::string& final_dir() const { return final_; }

  void prepare() const;  // removes what an earlier, killed run left in the work folder; creates it
  // "outputs.K.path=WORK/RELATIVE" for each output: the pipeline writes into the work folder.
  std::vector<std::string> overrides(const std::vector<FileOutput>& outputs) const;
  // fsync every file and folder in the work folder, then rename it to the final folder (an older
  // final folder, from --force, is moved aside first and removed after). Throws deeplab::Error.
  void commit() const;
  void discard() const noexcept;  // removes the work folder
  // Writes a file of the batch's own (classes.json) into the work folder; throws deeplab::Error.
  void write(const std::string& relative, const std::string& text) const;

 private:
  std::string out_dir_, work_, final_, old_;
};

}  // namespace deeplab::batch
