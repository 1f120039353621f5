#pragma once
// The edge: typed answers of the roles (poe/runtime/role_messages.hpp) rendered as the JSON
// poe-cli prints. Roles never make or parse JSON; this is the only place that turns their
// answers into text.

#include "poe/core/objects.hpp"
#include "poe/runtime/role_messages.hpp"

#include <nlohmann/json.hpp>

namespace poe::tools {

nlohmann::json to_json(const runtime::chain_status& st);
nlohmann::json to_json(const runtime::account_view& a);
nlohmann::json to_json(const runtime::job_status& j);
nlohmann::json to_json(const step_receipt& r);
nlohmann::json to_json(const runtime::builder_status& b);
nlohmann::json to_json(const runtime::rent_quote_view& q);
nlohmann::json to_json(const runtime::rent_flows& f);
nlohmann::json to_json(const runtime::object_stat& s);
nlohmann::json to_json(const std::vector<runtime::stored_object>& l);
nlohmann::json to_json(const runtime::storage_usage& u);
nlohmann::json to_json(const std::vector<runtime::challenge_record>& r);
nlohmann::json to_json(const runtime::content_view& c);
nlohmann::json to_json(const runtime::channel_view& c);
nlohmann::json to_json(const runtime::job_escrow_view& e);
/// {"kind": "amount", ...} of a flow list.
nlohmann::json flows_json(const std::vector<runtime::flow_entry>& flows);
nlohmann::json to_json(const runtime::channel_report& r);

} // namespace poe::tools
