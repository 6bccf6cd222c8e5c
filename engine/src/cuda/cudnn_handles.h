// Move-only owners of cuDNN objects: the library handle and the descriptors of the legacy
// convolution API. Creation failures throw deeplab::Error (kDevice) naming the cuDNN call;
// destructors log a failure and never throw.
#pragma once

#include <cudnn.h>

#include <utility>

#include "cuda/cudnn_check.h"

namespace deeplab::cuda {

template <typename Traits>
class CudnnObject {
 public:
  using Handle = typename Traits::Handle;

  CudnnObject() {
    const cudnnStatus_t status = Traits::create(&handle_);
    if (status != CUDNN_STATUS_SUCCESS) throw_cudnn_error(status, __FILE__, __LINE__, Traits::kCreateName);
  }
  ~CudnnObject() { release(); }
  CudnnObject(const CudnnObject&) = delete;
  CudnnObject& operator=(const CudnnObject&) = delete;
  CudnnObject(CudnnObject&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  CudnnObject& operator=(CudnnObject&& other) noexcept {
    if (this != &other) {
      release();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }

  Handle get() const { return handle_; }

 private:
  void release() noexcept {
    if (!handle_) return;
    const cudnnStatus_t status = Traits::destroy(handle_);
    if (status != CUDNN_STATUS_SUCCESS) log_cudnn_error(status, __FILE__, __LINE__, Traits::kDestroyName);
    handle_ = nullptr;
  }

  Handle handle_ = nullptr;
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
