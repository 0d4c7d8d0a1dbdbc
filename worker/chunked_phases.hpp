// The phase schedule's exact TS3 steps over a grid cell (layers x column chunks): every sum over
// samples is formed per fixed chunk and the chunk partials added in chunk order, so the
// iterates are the same bytes for every grid (common/reduction.hpp). With S > 1 shards a
// phase takes two rounds: the chunk partials, then their reduction (reduce_cell).
#pragma once
#include "common/reduction.hpp"
#include "worker/phases.hpp"

namespace radmm {

/// First round of phase `ph` on `cell`. One shard (S = 1): complete, W solved and the U phase's
/// L_beta terms stored in s.partial()[i]. S > 1: W partials and U chunk terms go to `area`.
/// `gram1_done` (optional) remembers that layer 1's Gram partials were already formed once
/// (X never changes; the solver keeps the factor in its InputGram).
template <class T>
void run_chunked_phase(Phase ph, const Region& cell, const StateT<T>& s, const Penalties& pen, MatRefT<T> z,
                       InputGram<T>* gram1, bool* gram1_done, const ReductionArea* area);

/// Second round (S > 1): the W or U sums of the layers this cell reduces (the j-th layer of the
/// region, W_N counted last, goes to shard j mod S), W solved, s.partial()[i] written.
template <class T>
void reduce_cell(Phase ph, const Region& cell, const StateT<T>& s, const Penalties& pen, InputGram<T>* gram1,
                 const ReductionArea& area);

/// Checks what round `ph` wrote in this cell (its columns, its reduced layers) for NaN / Inf.
template <class T>
NonFinite check_cell(Phase ph, const Region& cell, const StateT<T>& s, const ReductionArea* area);

}  // namespace radmm
