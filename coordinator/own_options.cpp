// Splitting a subcommand's own options from train options (see own_options.hpp).
#include "coordinator/own_options.hpp"

#include "common/error.hpp"

namespace radmm {

std::vector<std::string> take_own_options(const std::vector<std::string>& args,
                                          const std::map<std::string, OptionHandler>& own, bool& help,
                                          const std::map<std::string, bool*>& switches) {
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help = true;
      continue;
    }
    if (const auto sw = switches.find(a); sw != switches.end()) {
      *sw->second = true;
      continue;
    }
    const std::size_t eq = a.find('=');
    const auto it = own.find(a.substr(0, eq));
    if (it == own.end()) {
      rest.push_back(a);
      continue;
    }
    if (eq != std::string::npos) {
      it->second(a.substr(eq + 1));
    } else {
      if (i + 1 >= args.size()) throw Error(ExitCode::kUsage, a + " needs a value", a, "");
      it->second(args[++i]);
    }
  }
  return rest;
}

std::vector<std::string> parse_names(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace radmm
