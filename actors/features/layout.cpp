#include "actors/features/layout.hpp"

#include <memory>

#include <caf/all.hpp>

#include "actors/features/service.hpp"
#include "runtime/envelope.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

void fetch_layout(caf::event_based_actor* self, const caf::actor& dir,
                  std::chrono::milliseconds timeout, bool place,
                  std::function<void(caf::expected<store_layout>)> done) {
  auto finish = std::make_shared<decltype(done)>(std::move(done));
  auto fail = [finish](const std::string& what) {
    (*finish)(make_error(errc::io_failure, what));
  };
  self->request(dir, timeout, lookup_atom::value, std::string{service_name})
      .then(
          [=](const caf::actor& svc) {
            if (!place) {
              // asking for the layout places the shards: not before a
              // group exists (the nodes may not all have joined yet)
              self->request(svc, timeout, groups_atom::value, envelope{})
                  .then(
                      [=](const envelope& env) {
                        auto any = env.visit<schema::FeatureGroupList>(
                            [](auto r) { return r.getGroups().size() > 0; });
                        if (!any) return fail(describe(any.error()));
                        if (!*any) {
                          store_layout none;
                          none.service = svc;
                          return (*finish)(std::move(none));
                        }
                        fetch_layout(self, dir, timeout, true,
                                     std::move(*finish));
                      },
                      [=](caf::error& err) {
                        fail("the features service answered " + describe(err));
                      });
              return;
            }
            self->request(svc, timeout, layout_atom::value)
                .then(
                    [=](const envelope& env) {
                      auto out = std::make_shared<store_layout>();
                      out->service = svc;
                      auto ok = env.visit<schema::StoreLayout>([&](auto r) {
                        for (auto s : r.getShards())
                          out->shards.push_back(
                              shard_ref{s.getIndex(), s.getActor(), s.getNode(),
                                        nullptr});
                        for (auto g : r.getGroups())
                          out->groups.emplace(g.getName(), from_schema(g));
                        out->version = r.getVersion();
                      });
                      if (!ok) return fail(describe(ok.error()));
                      auto left = std::make_shared<size_t>(out->shards.size());
                      if (*left == 0) return (*finish)(std::move(*out));
                      for (size_t i = 0; i < out->shards.size(); ++i)
                        self->request(dir, timeout, lookup_atom::value,
                                      out->shards[i].name)
                            .then(
                                [=](const caf::actor& h) {
                                  out->shards[i].handle = h;
                                  if (--*left == 0) (*finish)(std::move(*out));
                                },
                                [=](caf::error&) {
                                  if (--*left == 0) (*finish)(std::move(*out));
                                });
                    },
                    [=](caf::error& err) {
                      fail("the features service answered " + describe(err));
                    });
          },
          [=](caf::error& err) {
            fail("no features service in this cluster (" + describe(err) + ")");
          });
}

} // namespace troupe::features
