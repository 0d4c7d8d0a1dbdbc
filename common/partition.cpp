// Cost-balanced contiguous partition: binary search on the bottleneck, greedy packing.
#include "common/partition.hpp"

#include <algorithm>

namespace radmm {

double layer_cost(const Dims& dims, int i) {
  const double n = static_cast<double>(dims.samples), d = dims.width;
  const double k = static_cast<double>(dims.w_cols(i));  // input width + 1
  // W: Gram k^2 n + product d k n + solve; V: A^T A d^2 k + d^2 n (two products) + d^3/3; U: d k n.
  double c = k * k * n + 2 * d * k * n + k * k * k / 3 + 2 * d * d * n + d * d * d / 3;
  if (i == dims.depth - 1) {
    const double kn = static_cast<double>(dims.w_cols(dims.depth));
    c += kn * kn * n + kn * kn * kn / 3;
  }
  return c;
}

std::vector<Region> partition_layers(const Dims& dims, int workers) {
  const int h = dims.hidden();
  std::vector<double> cost(static_cast<std::size_t>(h) + 1);
  double total = 0, biggest = 0;
  for (int i = 1; i <= h; ++i) {
    cost[i] = layer_cost(dims, i);
    total += cost[i];
    biggest = std::max(biggest, cost[i]);
  }
  auto pack = [&](double limit) {
    std::vector<Region> parts;
    Region cur{1, 0, 0};
    for (int i = 1; i <= h; ++i) {
      if (cur.last >= cur.first && cur.cost + cost[i] > limit) {
        parts.push_back(cur);
        cur = Region{i, i - 1, 0};
      }
      cur.last = i;
      cur.cost += cost[i];
    }
    parts.push_back(cur);
    return parts;
  };
  double lo = biggest, hi = total;
  for (int it = 0; it < 100 && hi - lo > 1e-9 * total; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (static_cast<int>(pack(mid).size()) <= workers) hi = mid;
    else lo = mid;
  }
  std::vector<Region> parts = pack(hi);
  // Fewer regions than workers (possible when costs are uneven): split the costliest
  // multi-layer region until there are exactly P.
  while (static_cast<int>(parts.size()) < workers) {
    auto it = std::max_element(parts.begin(), parts.end(), [](const Region& a, const Region& b) {
      return (a.last > a.first ? a.cost : -1) < (b.last > b.first ? b.cost : -1);
    });
    Region r = *it;
    double acc = 0;
    int cut = r.first;
    while (cut < r.last - 1 && acc + cost[cut] < r.cost / 2) acc += cost[cut++];
    Region left{r.first, cut, 0}, right{cut + 1, r.last, 0};
    for (int i = left.first; i <= left.last; ++i) left.cost += cost[i];
    for (int i = right.first; i <= right.last; ++i) right.cost += cost[i];
    *it = right;
    parts.insert(it, left);
  }
  return parts;
}

}  // namespace radmm
