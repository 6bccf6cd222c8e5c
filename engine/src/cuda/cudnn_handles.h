// Move-only owners of cuDNN objects: the library handle and the descriptors of the legacy
// convolution API. Creation failures throw deeplab::Error (kDevice) naming the cuDNN call;
// destructors log a failure and never throw.
#pragma once

#include <cudnn.h>

#include "cuda/cudnn_check.h"
#include "cuda/unique_handle.h"

namespace deeplab::cuda {

template <typename Traits>
struct CudnnRelease {
  void operator()(typename Traits::Handle handle) const noexcept {
    const cudnnStatus_t status = Traits::destroy(handle);
    if (status != CUDNN_STATUS_SUCCESS) log_cudnn_error(status, __FILE__, __LINE__, Traits::kDestroyName);
  }
};

template <typename Traits>
class CudnnObject : public UniqueHandle<typename Traits::Handle, CudnnRelease<Traits>> {
 public:
  CudnnObject() {
    const cudnnStatus_t status = Traits::create(&this->handle_);
    if (status != CUDNN_STATUS_SUCCESS) throw_cudnn_error(status, __FILE__, __LINE__, Traits::kCreateName);
  }
};

#define DEEPLAB_CUDNN_TRAITS(NAME, HANDLE, CREATE, DESTROY)                         \
  struct NAME {                                                                     \
    using Handle = HANDLE;                                                          \
    static cudnnStatus_t create(Handle* h) { return CREATE(h); }                    \
    static cudnnStatus_t destroy(Handle h) { return DESTROY(h); }                   \
    static constexpr const char* kCreateName = #CREATE;                             \
    static constexpr const char* kDestroyName = #DESTROY;                           \
  };
DEEPLAB_CUDNN_TRAITS(CudnnHandleTraits, cudnnHandle_t, cudnnCreate, cudnnDestroy)
DEEPLAB_CUDNN_TRAITS(TensorDescriptorTraits, cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                     cudnnDestroyTensorDescriptor)
DEEPLAB_CUDNN_TRAITS(FilterDescriptorTraits, cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor,
                     cudnnDestroyFilterDescriptor)
DEEPLAB_CUDNN_TRAITS(ConvolutionDescriptorTraits, cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                     cudnnDestroyConvolutionDescriptor)
DEEPLAB_CUDNN_TRAITS(ActivationDescriptorTraits, cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor,
                     cudnnDestroyActivationDescriptor)
#undef DEEPLAB_CUDNN_TRAITS

using CudnnHandle = CudnnObject<CudnnHandleTraits>;
using TensorDescriptor = CudnnObject<TensorDescriptorTraits>;
using FilterDescriptor = CudnnObject<FilterDescriptorTraits>;
using ConvolutionDescriptor = CudnnObject<ConvolutionDescriptorTraits>;
using ActivationDescriptor = CudnnObject<ActivationDescriptorTraits>;

}  // namespace deeplab::cuda
