#include "storage_io.hpp"

#include "poe/runtime/messages.hpp"
#include "poe/storage/cid.hpp"
#include "poe/storage/manifest.hpp"

#include <algorithm>
#include <memory>

namespace poe::actors {

using namespace poe::runtime;
using bytes_t = std::vector<std::uint8_t>;


/// Reads a stored file (a manifest and its chunks, in order) or a single chunk.
void fetch_file(caf::event_based_actor* self, const caf::actor& storage, const std::string& id,
                file_done done) {
  self->request(storage, storage_timeout, st_get_atom::value, id)
    .then(
      [=](bytes_t& top) {
        // Every piece is checked against its CID: a storage node's copy may be corrupt.
        auto c = storage::cid::parse(id);
        if (!c) return done(fail(errc::invalid_argument, "'" + id + "' is not a CID"));
        if (!c->matches(top))
          return done(fail(errc::verify_failed, id + ": the stored copy does not match its CID"));
        if (!c->is_manifest()) return done(bytes(std::move(top)));
        auto m = storage::decode_manifest(top);
        if (!m) return done(fail(errc::invalid_argument, "input " + id + ": " + m.err().message));
        auto parts = std::make_shared<std::vector<bytes>>(m->chunks.size());
        auto left = std::make_shared<std::size_t>(m->chunks.size());
        auto failed = std::make_shared<bool>(false);
        if (*left == 0) return done(bytes{});
        for (std::size_t i = 0; i < m->chunks.size(); ++i)
          self->request(storage, storage_timeout, st_get_atom::value, m->chunks[i].id.str())
            .then(
              [=](bytes_t& chunk) {
                if (*failed) return;
                if (!m->chunks[i].id.matches(chunk)) {
                  *failed = true;
                  return done(fail(errc::verify_failed, id + ": chunk " + m->chunks[i].id.str() +
                                                            " does not match its CID"));
                }
                (*parts)[i] = std::move(chunk);
                if (--*left > 0) return;
                bytes all;
                for (auto& p : *parts) all.insert(all.end(), p.begin(), p.end());
                done(std::move(all));
              },
              [=](caf::error& e) {
                if (std::exchange(*failed, true)) return;
                done(fail(errc::unavailable, "input " + id + ": " + self->system().render(e)));
              });
      },
      [=](caf::error& e) {
        done(fail(errc::unavailable, "input " + id + ": " + self->system().render(e)));
      });
}


void fetch_any(caf::event_based_actor* self, const caf::actor& directory, const std::string& own_node,
               const std::string& id, std::function<void(result<bytes>, std::size_t corrupt)> done) {
  self->request(directory, storage_timeout, lookup_atom::value, std::string("storage"))
    .then(
      [=](std::vector<role_entry>& xs) {
        if (xs.empty()) return done(fail(errc::unavailable, "no storage role is reachable"), 0);
        std::stable_partition(xs.begin(), xs.end(), [&](const role_entry& e) { return e.node == own_node; });
        auto nodes = std::make_shared<std::vector<role_entry>>(std::move(xs));
        auto corrupt = std::make_shared<std::size_t>(0);
        auto attempt = std::make_shared<std::function<void(std::size_t)>>();
        *attempt = [=](std::size_t i) {
          fetch_file(self, (*nodes)[i].handle, id, [=](result<bytes> r) {
            if (!r && r.err().code == errc::verify_failed) ++*corrupt;
            if (r || i + 1 == nodes->size() || r.err().code == errc::invalid_argument) {
              auto finish = std::move(*attempt); // break the cycle before answering
              return done(std::move(r), *corrupt);
            }
            (*attempt)(i + 1);
          });
        };
        (*attempt)(0);
      },
      [=](caf::error& e) { done(fail(errc::unavailable, "directory: " + self->system().render(e)), 0); });
}

result<file_parts> split_file(const bytes& data, const std::string& media_type) {
  storage::manifest_builder mb(media_type);
  file_parts out;
  for (std::size_t at = 0; at < data.size(); at += storage::default_chunk_size) {
    auto n = std::min<std::size_t>(storage::default_chunk_size, data.size() - at);
    out.chunks.emplace_back(data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(at + n));
    if (auto c = mb.add(out.chunks.back()); !c) return c.err();
  }
  auto m = std::move(mb).finish();
  out.cid = storage::manifest_cid(m).str();
  out.manifest = storage::encode(m);
  out.size = data.size();
  return out;
}

void store_file(caf::event_based_actor* self, const caf::actor& storage, const bytes& data,
                const std::string& media_type, cid_done done) {
  auto parts = split_file(data, media_type);
  if (!parts) return done(parts.err());
  store_parts(self, storage, std::make_shared<const file_parts>(std::move(*parts)), {}, std::move(done));
}

void store_parts(caf::event_based_actor* self, const caf::actor& storage,
                 std::shared_ptr<const file_parts> parts, bytes auth, cid_done done) {
  auto left = std::make_shared<std::size_t>(parts->chunks.size());
  auto failed = std::make_shared<bool>(false);
  auto put_manifest = [=] {
    auto answer = [=](std::string& id) { done(std::move(id)); };
    auto refused = [=](caf::error& e) {
      done(fail(errc::unavailable, "storing " + parts->cid + ": " + self->system().render(e)));
    };
    if (auth.empty())
      self->request(storage, storage_timeout, st_putm_atom::value, parts->manifest, std::string())
        .then(answer, refused);
    else
      self->request(storage, storage_timeout, st_putm_atom::value, parts->manifest, std::string(), auth)
        .then(answer, refused);
  };
  if (parts->chunks.empty()) return put_manifest();
  for (auto& c : parts->chunks)
    self->request(storage, storage_timeout, st_put_atom::value, c)
      .then([=](const std::string&) { if (!*failed && --*left == 0) put_manifest(); },
            [=](caf::error& e) {
              if (std::exchange(*failed, true)) return;
              done(fail(errc::unavailable, "storing " + parts->cid + ": " + self->system().render(e)));
            });
}

void find_role(caf::event_based_actor* self, const caf::actor& directory, const std::string& role,
               const std::string& own_node, std::function<void(caf::actor)> then,
               std::function<void(std::string)> or_else) {
  self->request(directory, storage_timeout, lookup_atom::value, role)
    .then(
      [=](const std::vector<role_entry>& xs) {
        if (xs.empty()) return or_else("no " + role + " role is reachable");
        for (auto& e : xs)
          if (e.node == own_node) return then(e.handle);
        then(xs.front().handle);
      },
      [=](caf::error& e) { or_else("directory: " + self->system().render(e)); });
}

} // namespace poe::actors
