# Stand-in for OpenCV on the GPU machine, which has no OpenCV development files (and carrying
# Debian's means carrying all of its modules and their dependencies). The top-level configure
# requires OpenCV for the command-line tools only; run-gpu-tests.sh builds just the CUDA targets,
# none of which uses OpenCV. Never use this for a build that includes the tools.
set(OpenCV_FOUND TRUE)
set(OpenCV_VERSION 0.0.0)
set(OpenCV_INCLUDE_DIRS "")
set(OpenCV_LIBS "")
