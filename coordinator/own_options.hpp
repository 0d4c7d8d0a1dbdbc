// A subcommand's own options (radmm bench, radmm compare) taken out of its argument list; what
// remains are train options for parse_train_command, beneath which the subcommand passes its
// defaults as a base INI so that a --config file and the command line both win over them.
#pragma once
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace radmm {

using OptionHandler = std::function<void(const std::string& value)>;

/// Calls own[name](value) for every "--name value" or "--name=value" in `args`, sets *switches[name]
/// for every "--name" that takes no value, sets `help` for -h / --help, and returns the other
/// arguments in order. A missing value is exit 64.
std::vector<std::string> take_own_options(const std::vector<std::string>& args,
                                          const std::map<std::string, OptionHandler>& own, bool& help,
                                          const std::map<std::string, bool*>& switches = {});

/// "1,2,3" as values of T; anything else is exit 64 naming --option.
template <class T>
std::vector<T> parse_values(const std::string& option, const std::string& text) {
  std::vector<T> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    std::istringstream one(item);
    T v{};
    if (!(one >> v) || !one.eof())
      throw Error(ExitCode::kUsage, "--" + option + " takes a comma-separated list (got '" + text + "')",
                  "--" + option, "e.g. --" + option + " 1,2,3");
    out.push_back(v);
  }
  if (out.empty()) throw Error(ExitCode::kUsage, "--" + option + " is empty", "--" + option, "");
  return out;
}

/// "a,b" as names (empty items dropped).
std::vector<std::string> parse_names(const std::string& text);

}  // namespace radmm
