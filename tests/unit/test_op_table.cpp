// The op table (graph/ops.h): its entries are consistent with what the passes and the backends'
// dispatch expect of them.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "graph/ops.h"

using namespace deeplab;

TEST(OpTable, NamesAreUniqueAndFound) {
  std::set<std::string> names;
  for (const OpDef& d : op_table()) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name << " twice";
    EXPECT_EQ(op_def(d.name), &d) << d.name;
  }
  EXPECT_EQ(op_def("NoSuchOp"), nullptr);
  Node unknown;
  unknown.op = "NoSuchOp";
  EXPECT_EQ(op_def(unknown).kernel, OpKernel::kNone);
  EXPECT_EQ(op_def(unknown).shape, nullptr);
  EXPECT_EQ(op_def(unknown).fold, nullptr);
}

TEST(OpTable, EveryEntryRunsOrFolds) {
  for (const OpDef& d : op_table()) {
    EXPECT_TRUE(d.fold || d.shape || d.kernel != OpKernel::kNone) << d.name;
    // Only the Reorder that assign_layouts inserts (after shape inference) runs without a shape.
    if (d.kernel != OpKernel::kNone && d.name != "Reorder") EXPECT_NE(d.shape, nullptr) << d.name;
    EXPECT_EQ(d.kernel == OpKernel::kUnary, d.activation != Activation::kNone) << d.name;
    if (d.kernel == OpKernel::kBinary) EXPECT_TRUE(d.float_inputs) << d.name;
    if (d.fold_on_shape) EXPECT_NE(d.fold, nullptr) << d.name;
    if (d.identity) EXPECT_EQ(d.kernel, OpKernel::kNone) << d.name;
  }
}

TEST(OpTable, FamiliesTheBackendsDispatchOn) {
  EXPECT_EQ(op_def("Conv")->kernel, OpKernel::kConv);
  EXPECT_EQ(op_def("Conv")->layout, LayoutRule::kChannelsLast);
  EXPECT_TRUE(op_def("MaxPool")->reduce_max);
  EXPECT_FALSE(op_def("AveragePool")->reduce_max);
  EXPECT_TRUE(op_def("GlobalMaxPool")->reduce_max);
  EXPECT_EQ(op_def("GlobalAveragePool")->kernel, OpKernel::kGlobalPool);
  EXPECT_TRUE(op_def("Upsample")->upsample);
  EXPECT_FALSE(op_def("Resize")->upsample);
  EXPECT_EQ(op_def("Clip")->activation, Activation::kClip);
  EXPECT_EQ(op_def("Div")->binary, BinaryKind::kDiv);
  EXPECT_EQ(op_def("Unsqueeze")->layout, LayoutRule::kReshape);
  EXPECT_EQ(op_def("Reorder")->layout, LayoutRule::kReorder);
  EXPECT_TRUE(op_def("Dropout")->identity && op_def("Dropout")->extra_outputs);
  EXPECT_TRUE(op_def("Shape")->fold_on_shape);
}
