#include "poe/wire/codec.hpp"

#include "poe/schemas/envelope.capnp.h"
#include "poe/schemas/receipt.capnp.h"
#include "poe/schemas/task.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <exception>

namespace poe::wire {

namespace {

namespace s = poe::schema;

// Size bounds of individual fields (bytes or elements).
constexpr std::size_t max_kind = 64;
constexpr std::size_t max_key = 128;
constexpr std::size_t max_value = 4096;
constexpr std::size_t max_cid = 128;
constexpr std::size_t max_name = 512;
constexpr std::size_t max_list = 4096;
constexpr std::size_t max_sig = 512;
constexpr std::size_t max_spki = 1024;

// ---------------------------------------------------------------- encoding helpers

template <class Builder>
bytes canonical_bytes(capnp::MallocMessageBuilder& msg) {
  auto words = capnp::canonicalize(msg.getRoot<typename Builder::Builds>().asReader());
  auto raw = words.asBytes();
  return bytes(raw.begin(), raw.end());
}

capnp::Data::Reader as_data(byte_view v) { return {v.data(), v.size()}; }

capnp::Text::Reader as_text(const std::string& s) { return {s.data(), s.size()}; }

template <class ListBuilder>
void set_params(ListBuilder list, const std::vector<param>& params) {
  for (unsigned i = 0; i < params.size(); ++i) {
    list[i].setKey(as_text(params[i].key));
    list[i].setValue(as_text(params[i].value));
  }
}

// ---------------------------------------------------------------- decoding helpers

// Thrown inside a decoder when a field violates a bound; turned into an error at the edge.
struct bad_field {
  std::string what;
};

template <class F>
auto guarded(byte_view in, const limits& lim, const char* what, F&& convert)
    -> result<decltype(convert(std::declval<capnp::MessageReader&>()))> {
  if (in.empty()) return fail(errc::decode_error, std::string{what} + ": empty input");
  if (in.size() > lim.max_bytes)
    return fail(errc::decode_error, std::string{what} + ": " + std::to_string(in.size()) +
                                        " bytes exceed the limit of " +
                                        std::to_string(lim.max_bytes));
  if (in.size() % sizeof(capnp::word) != 0)
    return fail(errc::decode_error,
                std::string{what} + ": length " + std::to_string(in.size()) +
                    " is not a multiple of 8");
  // Cap'n Proto needs word-aligned input: copy into an aligned buffer.
  auto words = kj::heapArray<capnp::word>(in.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), in.data(), in.size());
  capnp::ReaderOptions opts;
  // Each word may be visited once, plus slack for the root; bounds amplification.
  opts.traversalLimitInWords = words.size() * 2 + 16;
  opts.nestingLimit = lim.nesting;
  try {
    kj::ArrayPtr<const capnp::word> segment = words.asPtr();
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1), opts);
    auto v = convert(reader);
    // Accept only the canonical encoding, so bytes and objects correspond one to one (Cap'n
    // Proto's isCanonical() does not check, e.g., the padding after text).
    auto again = encode(v);
    if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
      return fail(errc::decode_error, std::string{what} + ": not in canonical form");
    return v;
  } catch (const bad_field& e) {
    return fail(errc::decode_error, std::string{what} + ": " + e.what);
  } catch (const kj::Exception& e) {
    return fail(errc::decode_error,
                std::string{what} + ": malformed (" + e.getDescription().cStr() + ")");
  } catch (const std::exception& e) {
    return fail(errc::decode_error, std::string{what} + ": malformed (" + e.what() + ")");
  }
}

template <class Fixed>
Fixed fixed(capnp::Data::Reader d, const char* field) {
  if (d.size() != Fixed::size)
    throw bad_field{std::string{field} + " must be " + std::to_string(Fixed::size) +
                    " bytes, got " + std::to_string(d.size())};
  Fixed out;
  std::memcpy(out.data.data(), d.begin(), Fixed::size);
  return out;
}

std::string get_text(capnp::Text::Reader t, std::size_t max, const char* field) {
  if (t.size() > max)
    throw bad_field{std::string{field} + " longer than " + std::to_string(max) + " bytes"};
  return std::string(t.begin(), t.size());
}

bytes get_blob(capnp::Data::Reader d, std::size_t max, const char* field) {
  if (d.size() > max)
    throw bad_field{std::string{field} + " longer than " + std::to_string(max) + " bytes"};
  return bytes(d.begin(), d.end());
}

template <class List>
void check_list(List l, const char* field) {
  if (l.size() > max_list)
    throw bad_field{std::string{field} + " has more than " + std::to_string(max_list) +
                    " elements"};
}

template <class List>
std::vector<param> get_params(List l, const char* field) {
  check_list(l, field);
  std::vector<param> out;
  out.reserve(l.size());
  for (auto p : l)
    out.push_back({get_text(p.getKey(), max_key, "param key"), get_text(p.getValue(), max_value, "param value")});
  if (auto ok = check_params(out); !ok) throw bad_field{std::string{field} + ": " + ok.err().message};
  return out;
}

} // namespace

// ---------------------------------------------------------------- task

bytes encode(const task& v) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::Task>();
  b.setRequestId(as_data(v.id.view()));
  b.setKind(as_text(v.kind));
  set_params(b.initParams(static_cast<unsigned>(v.params.size())), v.params);
  auto in = b.initInputs(static_cast<unsigned>(v.inputs.size()));
  for (unsigned i = 0; i < v.inputs.size(); ++i) in.set(i, as_text(v.inputs[i]));
  b.setSubmitter(as_data(v.submitter.view()));
  b.setCreatedMs(v.created_ms);
  b.setAnchorHeight(v.anchor_height);
  return canonical_bytes<s::Task::Builder>(msg);
}

result<task> decode_task(byte_view in, const limits& lim) {
  return guarded(in, lim, "task", [](capnp::MessageReader& m) {
    auto r = m.getRoot<s::Task>();
    task v;
    v.id = fixed<request_id>(r.getRequestId(), "requestId");
    v.kind = get_text(r.getKind(), max_kind, "kind");
    v.params = get_params(r.getParams(), "params");
    auto inputs = r.getInputs();
    check_list(inputs, "inputs");
    for (auto t : inputs) v.inputs.push_back(get_text(t, max_cid, "input CID"));
    v.submitter = fixed<node_id>(r.getSubmitter(), "submitter");
    v.created_ms = r.getCreatedMs();
    v.anchor_height = r.getAnchorHeight();
    return v;
  });
}

// ---------------------------------------------------------------- task_result

bytes encode(const task_result& v) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::TaskResult>();
  b.setRequestId(as_data(v.id.view()));
  b.setKind(as_text(v.kind));
  auto outs = b.initOutputs(static_cast<unsigned>(v.outputs.size()));
  for (unsigned i = 0; i < v.outputs.size(); ++i) {
    outs[i].setName(as_text(v.outputs[i].name));
    outs[i].setCid(as_text(v.outputs[i].cid));
    outs[i].setSize(v.outputs[i].size);
  }
  set_params(b.initFacts(static_cast<unsigned>(v.facts.size())), v.facts);
  b.setTaskHash(as_data(v.task_hash.view()));
  return canonical_bytes<s::TaskResult::Builder>(msg);
}

result<task_result> decode_task_result(byte_view in, const limits& lim) {
  return guarded(in, lim, "task result", [](capnp::MessageReader& m) {
    auto r = m.getRoot<s::TaskResult>();
    task_result v;
    v.id = fixed<request_id>(r.getRequestId(), "requestId");
    v.kind = get_text(r.getKind(), max_kind, "kind");
    auto outs = r.getOutputs();
    check_list(outs, "outputs");
    for (auto o : outs)
      v.outputs.push_back({get_text(o.getName(), max_name, "output name"),
                           get_text(o.getCid(), max_cid, "output CID"), o.getSize()});
    v.facts = get_params(r.getFacts(), "facts");
    v.task_hash = fixed<hash256>(r.getTaskHash(), "taskHash");
    return v;
  });
}

// ---------------------------------------------------------------- step_receipt

bytes encode(const step_receipt& v) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::StepReceipt>();
  b.setRequestId(as_data(v.request.view()));
  b.setKind(as_text(v.kind));
  b.setExecutor(as_data(v.executor.view()));
  b.setResultHash(as_data(v.result_hash.view()));
  b.setPoe(as_data(v.poe.view()));
  b.setPoeSig(as_data(v.poe_sig));
  b.setVerifier(as_data(v.verifier.view()));
  b.setVerifiedMs(v.verified_ms);
  b.setReexecuted(v.reexecuted);
  b.setWorkUnits(v.work_units);
  b.setResultBytes(v.result_bytes);
  return canonical_bytes<s::StepReceipt::Builder>(msg);
}

result<step_receipt> decode_step_receipt(byte_view in, const limits& lim) {
  return guarded(in, lim, "step receipt", [](capnp::MessageReader& m) {
    auto r = m.getRoot<s::StepReceipt>();
    step_receipt v;
    v.request = fixed<request_id>(r.getRequestId(), "requestId");
    v.kind = get_text(r.getKind(), max_kind, "kind");
    v.executor = fixed<node_id>(r.getExecutor(), "executor");
    v.result_hash = fixed<hash256>(r.getResultHash(), "resultHash");
    v.poe = fixed<hash256>(r.getPoe(), "poe");
    v.poe_sig = get_blob(r.getPoeSig(), max_sig, "poeSig");
    v.verifier = fixed<node_id>(r.getVerifier(), "verifier");
    v.verified_ms = r.getVerifiedMs();
    v.reexecuted = r.getReexecuted();
    v.work_units = r.getWorkUnits();
    v.result_bytes = r.getResultBytes();
    return v;
  });
}

// ---------------------------------------------------------------- log_block

bytes encode(const log_block& v) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::LogBlock>();
  b.setBpiId(as_data(v.bpi.view()));
  b.setSequence(v.sequence);
  b.setPrev(as_data(v.prev.view()));
  b.setReceiptsRoot(as_data(v.receipts_root.view()));
  b.setReceiptCount(v.receipt_count);
  b.setFirstMs(v.first_ms);
  b.setLastMs(v.last_ms);
  b.setWorkUnits(v.work_units);
  b.setResultBytes(v.result_bytes);
  return canonical_bytes<s::LogBlock::Builder>(msg);
}

result<log_block> decode_log_block(byte_view in, const limits& lim) {
  return guarded(in, lim, "log block", [](capnp::MessageReader& m) {
    auto r = m.getRoot<s::LogBlock>();
    log_block v;
    v.bpi = fixed<node_id>(r.getBpiId(), "bpiId");
    v.sequence = r.getSequence();
    v.prev = fixed<hash256>(r.getPrev(), "prev");
    v.receipts_root = fixed<hash256>(r.getReceiptsRoot(), "receiptsRoot");
    v.receipt_count = r.getReceiptCount();
    v.first_ms = r.getFirstMs();
    v.last_ms = r.getLastMs();
    v.work_units = r.getWorkUnits();
    v.result_bytes = r.getResultBytes();
    return v;
  });
}

// ---------------------------------------------------------------- poe_header

bytes encode(const poe_header& v) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::PoEHeader>();
  b.setBpiId(as_data(v.bpi.view()));
  b.setLogbookRoot(as_data(v.logbook_root.view()));
  b.setExecutionHash(as_data(v.execution_hash.view()));
  b.setTimestamp(v.timestamp);
  b.setRentPayment(v.rent_payment);
  b.setSignature(as_data(v.signature));
  return canonical_bytes<s::PoEHeader::Builder>(msg);
}

result<poe_header> decode_poe_header(byte_view in, const limits& lim) {
  return guarded(in, lim, "PoE header", [](capnp::MessageReader& m) {
    auto r = m.getRoot<s::PoEHeader>();
    poe_header v;
    v.bpi = fixed<node_id>(r.getBpiId(), "bpiId");
    v.logbook_root = fixed<hash256>(r.getLogbookRoot(), "logbookRoot");
    v.execution_hash = fixed<hash256>(r.getExecutionHash(), "executionHash");
    v.timestamp = r.getTimestamp();
    v.rent_payment = r.getRentPayment();
    v.signature = get_blob(r.getSignature(), max_sig, "signature");
    if (v.signature.size() != 64 && v.signature.size() != 256)
      throw bad_field{"signature must be 64 or 256 bytes, got " +
                      std::to_string(v.signature.size())};
    return v;
  });
}

// ---------------------------------------------------------------- envelope

bytes encode(const envelope& v) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<s::Envelope>();
  b.setChainId(as_text(v.chain_id));
  b.setType(static_cast<std::uint16_t>(v.type));
  b.setSignerKey(as_data(v.signer_key));
  b.setPayload(as_data(v.payload));
  b.setSignature(as_data(v.signature));
  return canonical_bytes<s::Envelope::Builder>(msg);
}

result<envelope> decode_envelope(byte_view in, const limits& lim) {
  return guarded(in, lim, "envelope", [&lim](capnp::MessageReader& m) {
    auto r = m.getRoot<s::Envelope>();
    envelope v;
    v.chain_id = get_text(r.getChainId(), 64, "chainId");
    if (auto ok = check_chain_id(v.chain_id); !ok) throw bad_field{ok.err().message};
    auto type = to_msg_type(r.getType());
    if (!type) throw bad_field{type.err().message};
    v.type = *type;
    v.signer_key = get_blob(r.getSignerKey(), max_spki, "signerKey");
    v.payload = get_blob(r.getPayload(), lim.max_bytes, "payload");
    v.signature = get_blob(r.getSignature(), max_sig, "signature");
    return v;
  });
}

} // namespace poe::wire
