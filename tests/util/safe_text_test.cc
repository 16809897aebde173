#include "util/safe_text.h"

#include <gtest/gtest.h>

#include <string>

namespace hfm {
namespace {

TEST(EscapeUnsafeTextTest, ControlCharactersBecomeHex) {
  EXPECT_EQ(EscapeUnsafeText("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
  EXPECT_EQ(EscapeUnsafeText("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(EscapeUnsafeText(std::string("nul\0x\x7f", 6)), "nul\\x00x\\x7f");
}

TEST(EscapeUnsafeTextTest, PrintableUtf8PassesUnchanged) {
  EXPECT_EQ(EscapeUnsafeText("plain/path-1.txt"), "plain/path-1.txt");
  EXPECT_EQ(EscapeUnsafeText("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(EscapeUnsafeText("back\\slash \"quoted\""), "back\\slash \"quoted\"");
}

TEST(EscapeUnsafeTextTest, C1ControlsAndBidiOverridesBecomeHex) {
  EXPECT_EQ(EscapeUnsafeText("\xc2\x9b" "31m"), "\\xc2\\x9b31m");  // U+009B, CSI to some terminals
  EXPECT_EQ(EscapeUnsafeText("a\xe2\x80\xae" "b"), "a\\xe2\\x80\\xaeb");  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(EscapeUnsafeText("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");  // U+2066 LEFT-TO-RIGHT ISOLATE
}

TEST(EscapeUnsafeTextTest, InvalidUtf8BecomesHexByteByByte) {
  EXPECT_EQ(EscapeUnsafeText("\xff"), "\\xff");
  EXPECT_EQ(EscapeUnsafeText("\xc0\xaf"), "\\xc0\\xaf");                 // overlong '/'
  EXPECT_EQ(EscapeUnsafeText("\xed\xa0\x80"), "\\xed\\xa0\\x80");        // a surrogate
  EXPECT_EQ(EscapeUnsafeText("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(EscapeUnsafeText("\xe2\x82"), "\\xe2\\x82");                 // cut short
  EXPECT_EQ(EscapeUnsafeText("\xe2\xc3\xa9"), "\\xe2\xc3\xa9");          // a stray byte, then valid é
}

TEST(EscapeUnsafeTextTest, AlsoEscapesTheBytesAskedFor) {
  EXPECT_EQ(EscapeUnsafeText("say \"hi\\\"", "\"\\"), "say \\x22hi\\x5c\\x22");
}

}  // namespace
}  // namespace hfm
