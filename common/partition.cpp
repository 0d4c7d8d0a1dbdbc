// Cost-balanced contiguous partition: binary search on the bottleneck, greedy packing.
#include "common/partition.hpp"

#include <algorithm>

namespace radmm {

double layer_flops(const Dims& dims, int i) {
  const double n = static_cast<double>(dims.samples), d = dims.width, c = dims.outputs;
  const double k = static_cast<double>(dims.w_cols(i) - 1);  // input width of layer i
  auto ridge = [n](double in, double out) {  // update_weights: Gram, P T^T, LLT, solve
    return in * (in + 1) * n + 2 * in * out * n + (in + 1) * (in + 1) * (in + 1) / 3 + 2 * (in + 1) * (in + 1) * out;
  };
  double f = ridge(k, d);                       // W_i
  f += 2 * d * k * n;                           // U_i: Z = W_i V~_{i-1}
  const double next_rows = i == dims.depth - 1 ? c : d;  // A = W_{i+1} is next_rows x d
  f += d * (d + 1) * next_rows                  // V_i: A^T A
       + 2 * d * next_rows * n * (i == dims.depth - 1 ? 2 : 1)  // A^T U_{i+1} (or A^T Lambda, A^T V_N)
       + d * d * d / 3 + 2 * d * d * n;         // LLT and the solve with n right-hand sides
  if (i == dims.depth - 1) f += ridge(d, c);    // W_N
  return f;
}

double iteration_flops(const Dims& dims) {
  double f = 2.0 * dims.outputs * dims.width * static_cast<double>(dims.samples);  // Z_N
  for (int i = 1; i <= dims.hidden(); ++i) f += layer_flops(dims, i);
  return f;
}

std::vector<Region> partition_layers(const Dims& dims, int workers) {
  const int h = dims.hidden();
  std::vector<double> cost(static_cast<std::size_t>(h) + 1);
  double total = 0, biggest = 0;
  for (int i = 1; i <= h; ++i) {
    cost[i] = layer_flops(dims, i);
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
