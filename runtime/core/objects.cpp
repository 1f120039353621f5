#include "poe/core/objects.hpp"

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

status check_params(const std::vector<param>& params) {
  for (std::size_t i = 1; i < params.size(); ++i)
    if (!(params[i - 1].key < params[i].key))
      return fail(errc::invalid_argument,
                  "parameters must be sorted by key with unique keys (at '" + params[i].key + "')");
  return {};
}

} // namespace poe
