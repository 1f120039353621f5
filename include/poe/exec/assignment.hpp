#pragma once
/// @file
/// Who runs a task, and whether its result is re-run: deterministic draws from chain data, so
/// every verifier computes the same answer and no executor can steer it.
///
/// - assignment: executors are drawn at random, weighted by stake × reputation (among those with
///   a free slot of the capacity they registered, while any has one), from a seed
///   derived from the latest block hash, the request id and the attempt number (a timed-out
///   task is reassigned with the next attempt number, the executors tried before excluded);
/// - sampling: a result is re-executed when a draw from the hash of the first block after its
///   commitment arrived and the request id falls under the sampling rate. The executor cannot
///   predict that block's hash when it commits, so it cannot know whether it will be checked.
///
/// Draws read the seed's first 16 bytes as a 128-bit integer and take it modulo the total
/// weight (< 2^90): the bias is below 2^-38.

#include "poe/core/types.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace poe::exec {

struct executor_info {
  node_id id;
  std::uint64_t stake = 0;                ///< executor stake on chain, base units
  std::uint32_t reputation_ppm = 500'000; ///< 0 .. 1'000'000 (reputation_book)
  std::uint32_t capacity = 1;             ///< task slots it registered (0: takes no tasks)
  std::uint32_t load = 0;                 ///< tasks the caller has in flight there
};

/// SHA-256("poe/exec/draw/v1" ‖ purpose ‖ block_hash ‖ request_id ‖ u32 attempt).
hash256 draw_seed(std::string_view purpose, const hash256& block_hash, const request_id& request,
                  std::uint32_t attempt);

/// The weight of an executor: stake × reputation_ppm (0 when either is 0).
unsigned __int128 weight(const executor_info& e);

/// Draws one executor from `candidates`, weighted, skipping those in `exclude`, those of
/// weight 0 and those of capacity 0; among the rest only those with a free slot (load <
/// capacity) are drawn from while there is one. nullopt when none is left.
std::optional<node_id> pick_executor(const std::vector<executor_info>& candidates,
                                     const hash256& seed, const std::vector<node_id>& exclude);

/// Whether the result of `request`, first seen before block `block_hash`, is re-executed:
/// the draw from draw_seed("sample", block_hash, request, 0) modulo 1'000'000 is below
/// `rate_ppm` (50'000 = 5 %).
bool sampled(const hash256& block_hash, const request_id& request, std::uint32_t rate_ppm);

} // namespace poe::exec
