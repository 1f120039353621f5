#include "poe/core/objects.hpp"

#include "poe/core/byte_io.hpp"
#include "poe/core/merkle.hpp"

namespace poe {

envelope seal(const private_key& key, std::string_view chain_id, msg_type type, bytes payload) {
  envelope env;
  env.chain_id = std::string{chain_id};
  env.type = type;
  env.signer_key = key.pub().der();
  env.signature = sign_in_domain(key, chain_id, type, payload);
  env.payload = std::move(payload);
  return env;
}

result<public_key> open(const envelope& env, std::string_view chain_id, msg_type type) {
  if (env.chain_id != chain_id)
    return fail(errc::verify_failed,
                "envelope is for chain '" + env.chain_id + "', expected '" + std::string{chain_id} + "'");
  if (env.type != type)
    return fail(errc::verify_failed, "envelope carries " + std::string{to_string(env.type)} +
                                         ", expected " + std::string{to_string(type)});
  auto key = public_key::from_der(env.signer_key);
  if (!key) return fail(errc::verify_failed, "envelope signer key: " + key.err().message);
  if (!verify_in_domain(*key, chain_id, type, env.payload, env.signature))
    return fail(errc::verify_failed, "envelope signature does not verify");
  return key;
}

namespace {

hash256 batch_root(const std::vector<bytes>& tasks) {
  std::vector<hash256> leaves;
  leaves.reserve(tasks.size());
  for (auto& t : tasks) leaves.push_back(merkle::leaf_hash(t));
  return merkle::root(leaves);
}

constexpr std::size_t max_batch = 1u << 20;

} // namespace

bytes task_auth_payload(const hash256& root, std::uint32_t count) {
  bytes out(root.data.begin(), root.data.end());
  append_u32_be(out, count);
  return out;
}

envelope authorize_tasks(const private_key& key, std::string_view chain_id,
                         const std::vector<bytes>& tasks) {
  return seal(key, chain_id, msg_type::task,
              task_auth_payload(batch_root(tasks), static_cast<std::uint32_t>(tasks.size())));
}

result<public_key> check_task_auth(const envelope& auth, std::string_view chain_id,
                                   const std::vector<bytes>& tasks) {
  if (tasks.empty() || tasks.size() > max_batch)
    return fail(errc::invalid_argument, "a task authorization covers 1.." + std::to_string(max_batch) + " tasks");
  auto key = open(auth, chain_id, msg_type::task);
  if (!key) return key.err();
  if (auth.payload != task_auth_payload(batch_root(tasks), static_cast<std::uint32_t>(tasks.size())))
    return fail(errc::verify_failed, "the task authorization was signed for other tasks");
  return key;
}

result<task_grant> grant_of(const envelope& auth, const std::vector<bytes>& tasks,
                            std::uint32_t index) {
  std::vector<hash256> leaves;
  leaves.reserve(tasks.size());
  for (auto& t : tasks) leaves.push_back(merkle::leaf_hash(t));
  auto proof = merkle::prove(leaves, index);
  if (!proof) return proof.err();
  task_grant g;
  g.task = tasks.at(index);
  g.signer_key = auth.signer_key;
  g.signature = auth.signature;
  g.index = index;
  g.count = static_cast<std::uint32_t>(tasks.size());
  g.path = std::move(proof->path);
  return g;
}

result<public_key> check_task_grant(const task_grant& g, std::string_view chain_id) {
  if (g.count == 0 || g.count > max_batch || g.index >= g.count)
    return fail(errc::verify_failed, "task grant: index " + std::to_string(g.index) +
                                         " outside a batch of " + std::to_string(g.count));
  auto key = public_key::from_der(g.signer_key);
  if (!key) return fail(errc::verify_failed, "task grant signer key: " + key.err().message);
  auto r = merkle::root_from({g.index, g.count, g.path}, merkle::leaf_hash(g.task));
  if (!r) return fail(errc::verify_failed, "task grant: the audit path does not fit a batch of " + std::to_string(g.count));
  if (!verify_in_domain(*key, chain_id, msg_type::task, task_auth_payload(*r, g.count), g.signature))
    return fail(errc::verify_failed, "task grant: the verifier's signature does not cover this task");
  return key;
}

status check_params(const std::vector<param>& params) {
  for (std::size_t i = 1; i < params.size(); ++i)
    if (!(params[i - 1].key < params[i].key))
      return fail(errc::invalid_argument,
                  "parameters must be sorted by key with unique keys (at '" + params[i].key + "')");
  return {};
}

} // namespace poe
