#pragma once
// The application API's writes, on the gateway actor (gateway_api.cpp): uploads and jobs on
// behalf of an owner who signs them, and job status. Apps speak HTTP; the owner is whoever
// signs the request (a client request, core/client_request.hpp), never the gateway:
//
//   (gw_upload, data, media type) → "202 {upload}": probed (non-media refused, 422), cut into
//       chunks and a manifest, staged here for 60 s with a nonce of a storage node; the answer
//       says what to sign (`sign.signing_input`: the domain-separated bytes of a put of the
//       manifest's CID with that nonce);
//   (gw_commit, cid, public key hex, signature hex) → "201 {file}": the staged file stored on
//       that storage node, owned by the signer (the node checks the request and uses its nonce
//       up);
//   (gw_job, source, ladder, nonce hex, public key hex, signature hex) → without a nonce
//       "401 {problem with sign}" (a nonce of a verifier and what to sign), with one
//       "202 {job}": the job submitted to that verifier for the signer;
//   (gw_jobst, job id) → "200 {job status}".
// Answers are "<status> <JSON>" on success and "<status> <why>" otherwise; the actor refuses
// these messages from other nodes (gateway_actor.cpp), as the other gw_* messages.
#include "poe/core/types.hpp"
#include "poe/runtime/role.hpp"
#include "offload.hpp"
#include "storage_io.hpp"

#include <caf/all.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace poe::actors::gw {

using upload_atom = caf::atom_constant<caf::atom("gw_upload")>;
using commit_atom = caf::atom_constant<caf::atom("gw_commit")>;
using job_atom = caf::atom_constant<caf::atom("gw_job")>;
using job_status_atom = caf::atom_constant<caf::atom("gw_jobst")>;

/// The largest upload taken (HTTP 413 above), and how much may wait for signatures at once.
inline constexpr std::size_t max_upload_bytes = 256u << 20;
inline constexpr std::size_t max_staged_bytes = 1024u << 20;
/// How long a staged upload and a handed-out nonce wait (the nodes' nonces live 60 s).
inline constexpr std::uint64_t sign_within_ms = 55'000;

struct api_state {
  runtime::role_context ctx;
  std::function<void(offload::work)> off; ///< runs work off the actor
  struct staged {
    std::shared_ptr<const file_parts> parts;
    caf::actor storage; ///< the node whose nonce it is
    hash256 nonce;
    std::uint64_t expires_ms = 0;
  };
  std::map<std::string, staged> uploads; ///< by manifest CID
  std::size_t staged_bytes = 0;
  std::map<hash256, std::pair<caf::actor, std::uint64_t>> job_nonces; ///< nonce → (verifier, expiry)
  std::map<std::string, caf::actor> jobs;                             ///< job id → its verifier
};
using api_ptr = std::shared_ptr<api_state>;

caf::result<std::string> upload(caf::event_based_actor* self, const api_ptr& a, bytes data, std::string media_type);
caf::result<std::string> commit(caf::event_based_actor* self, const api_ptr& a, const std::string& cid,
                                const std::string& key_hex, const std::string& sig_hex);
caf::result<std::string> submit_job(caf::event_based_actor* self, const api_ptr& a, const std::string& source,
                                    const std::string& ladder, const std::string& nonce_hex,
                                    const std::string& key_hex, const std::string& sig_hex);
caf::result<std::string> job_status(caf::event_based_actor* self, const api_ptr& a, const std::string& job);

} // namespace poe::actors::gw
