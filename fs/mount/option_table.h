// The mount's options (-o and the config file's `key = value` lines), one row
// each: the name, how its value is parsed into MountOptions, its default and
// its help line. Parsing (ApplyMountOption) and --help (MountUsage) are both
// made from the rows, so an option cannot be parsed yet missing from --help;
// a unit test holds the README's options table to the same rows.
//
// Thread safety: the table is constant; the functions are pure.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "fs/mount/mount_options.h"
#include "util/status.h"

namespace hfm {

struct OptionSpec {
  std::string_view name;  // as -o and the config file spell it
  // The value's placeholder in --help ("SECONDS"); empty for a flag, which is
  // given bare and refused with a value.
  std::string_view operand;
  // The default as one would write it after '=' ("60"), shown by --help and
  // the README; empty where there is none to print (a flag is off, and some
  // defaults come from the environment or the disk: `help` says which).
  std::string_view default_value;
  std::string_view help;
  // Parses `value` ("" for a flag or a bare key) into `out`; InvalidArgument
  // with a message for the user on a bad value.
  Status (*apply)(const OptionSpec& spec, const std::string& value, MountOptions* out);
};

// Every option, in the order --help lists them.
std::span<const OptionSpec> MountOptionTable();

// The row named `name`, or null.
const OptionSpec* FindMountOption(std::string_view name);

// One option ("key=value" or "flag") onto `out`: a row of the table, or one of
// the generic options mount(8) and fstab pass, which change nothing. Unknown
// options, and ones hfmirror refuses (rw, token=), are InvalidArgument.
Status ApplyMountOption(const std::string& option, MountOptions* out);

// The table's part of --help: one entry per row, wrapped to 100 columns.
std::string MountOptionHelp();

}  // namespace hfm
