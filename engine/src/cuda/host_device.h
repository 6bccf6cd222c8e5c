// The host/device arithmetic of common/host_device.h under the names the CUDA code uses
// (deeplab::cuda::mul_rn, ...): the kernels' headers include this one.
#pragma once

#include "common/host_device.h"

namespace deeplab::cuda {

using pixel::add_rn;
using pixel::div_rn;
using pixel::exp_f;
using pixel::mul_rn;
using pixel::sqrt_rn;
using pixel::sub_rn;

}  // namespace deeplab::cuda
