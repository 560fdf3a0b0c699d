#include "health/health_api.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "http/problem.hpp"
#include "metrics/registry.hpp"

namespace myriad::health {
namespace {

std::string_view StateName(Readiness::State state) {
  switch (state) {
    case Readiness::State::kUp:
      return "up";
    case Readiness::State::kDegraded:
      return "degraded";
    case Readiness::State::kDown:
      return "down";
  }
  return "down";
}

}  // namespace

http::Response Liveness() { return http::JsonResponse(200, R"({"status":"ok"})"); }

http::Response ReadinessAnswer(const Readiness& readiness, std::string_view request_id) {
  if (readiness.draining()) {
    return http::ProblemResponse({http::ErrorCode::kUnavailable, "The server is shutting down."},
                                 request_id);
  }
  boost::json::object checks;
  bool down = false;
  bool degraded = false;
  std::string failing;
  for (const auto& check : readiness.checks()) {
    auto state = check.probe();
    checks[check.name] = StateName(state);
    if (state == Readiness::State::kDown) {
      down = true;
      failing += failing.empty() ? check.name : ", " + check.name;
    }
    degraded = degraded || state == Readiness::State::kDegraded;
  }
  if (down) {
    return http::ProblemResponse(
        {http::ErrorCode::kUnavailable, "Not ready: " + failing + " down."}, request_id);
  }
  boost::json::object body;
  body["status"] = degraded ? "degraded" : "ready";
  body["checks"] = std::move(checks);
  return http::JsonResponse(200, boost::json::serialize(body));
}

http::Response MetricsAnswer(const metrics::Registry& registry) {
  http::Response response;
  response.content_type = http::kPrometheusType;
  response.body = registry.Serialize();
  return response;
}

void RegisterHealthRoutes(http::Routes& routes, const Readiness& readiness,
                          const metrics::Registry& registry) {
  routes.Add(
      http::Method::kGet, "/api/health", [](const http::Request&) { return Liveness(); },
      /*exempt=*/true);
  routes.Add(
      http::Method::kGet, "/api/ready",
      [&readiness](const http::Request& request) {
        return ReadinessAnswer(readiness, request.request_id());
      },
      /*exempt=*/true);
  routes.Add(
      http::Method::kGet, "/metrics",
      [&registry](const http::Request&) { return MetricsAnswer(registry); },
      /*exempt=*/true);
}

}  // namespace myriad::health
