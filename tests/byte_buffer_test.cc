#include "byte_buffer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rowfs {
namespace {

// One step applied to a ByteBuffer and to a std::string model.
struct Step {
  enum Kind { kWrite, kResize, kAssign, kClear } kind;
  size_t offset = 0;  // kWrite; the new size for kResize
  std::string bytes;  // kWrite, kAssign
};

void Apply(const Step& step, ByteBuffer* buf, std::string* model) {
  switch (step.kind) {
    case Step::kWrite:
      buf->WriteAt(step.offset, step.bytes);
      if (model->size() < step.offset + step.bytes.size()) {
        model->resize(step.offset + step.bytes.size(), '\0');
      }
      model->replace(step.offset, step.bytes.size(), step.bytes);
      break;
    case Step::kResize:
      buf->Resize(step.offset);
      model->resize(step.offset, '\0');
      break;
    case Step::kAssign:
      buf->Assign(step.bytes);
      *model = step.bytes;
      break;
    case Step::kClear:
      buf->Clear();
      model->clear();
      break;
  }
}

TEST(ByteBufferTest, MatchesAStringModel) {
  // Past several reallocations, and past the 8 MiB huge-page advice.
  const std::string big(5 << 20, 'b');
  const std::vector<std::vector<Step>> cases = {
      {},
      {{Step::kWrite, 0, "abc"}},
      {{Step::kWrite, 0, "abc"}, {Step::kWrite, 3, "def"}},   // append
      {{Step::kWrite, 0, "abcdef"}, {Step::kWrite, 2, "XY"}},  // overwrite
      {{Step::kWrite, 0, "abc"}, {Step::kWrite, 1, "XYZW"}},   // straddles end
      {{Step::kWrite, 5, "x"}},                                // gap reads 0
      {{Step::kWrite, 0, "abc"}, {Step::kWrite, 10, "z"}},
      {{Step::kWrite, 0, "abc"}, {Step::kWrite, 3, ""}},   // empty write
      {{Step::kWrite, 0, "abc"}, {Step::kWrite, 7, ""}},   // empty, past end
      {{Step::kWrite, 0, "abcdef"}, {Step::kResize, 2}},  // shrink
      {{Step::kWrite, 0, "ab"}, {Step::kResize, 6}},       // grow with zeros
      // Bytes cut by a shrink come back as zeros, by Resize or by a write
      // past the end.
      {{Step::kWrite, 0, "abcdef"}, {Step::kResize, 1}, {Step::kResize, 4}},
      {{Step::kWrite, 0, "abcdef"}, {Step::kResize, 1}, {Step::kWrite, 3, "q"}},
      {{Step::kWrite, 0, "abc"}, {Step::kAssign, 0, "Z"}},
      {{Step::kWrite, 0, "abc"}, {Step::kClear}, {Step::kWrite, 2, "c"}},
      {{Step::kWrite, 0, big},
       {Step::kWrite, big.size(), big},
       {Step::kWrite, 7, "middle"},
       {Step::kResize, 10}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    ByteBuffer buf;
    std::string model;
    for (const Step& step : cases[i]) Apply(step, &buf, &model);
    EXPECT_EQ(buf.size(), model.size());
    EXPECT_TRUE(buf.view() == model);
  }
}

TEST(ByteBufferTest, EmptyAndClearedBuffersViewNothing) {
  ByteBuffer buf;
  EXPECT_EQ(buf.size(), 0u);
  EXPECT_TRUE(buf.view().empty());
  buf.WriteAt(0, std::string(1 << 20, 'x'));
  EXPECT_EQ(buf.size(), 1u << 20);
  buf.Clear();
  EXPECT_EQ(buf.size(), 0u);
  EXPECT_TRUE(buf.view().empty());
}

}  // namespace
}  // namespace rowfs
