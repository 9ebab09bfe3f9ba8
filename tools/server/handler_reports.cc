// GET /v1/reports/indicators: the aggregate report, in json, csv, md or html.
#include "relais/projections/report.h"
#include "server/handlers.h"

namespace relais::server {

Response Report(State& s, const Caller& caller, const Query& q) {
  if (!projections::MayReadReports(caller)) return Forbidden("the token may not read reports");
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  std::string format = Param(q, "format").value_or("json");
  if (format.empty()) format = "json";
  projections::ReportFormat f;
  Response r;
  if (format == "json") {
    f = projections::ReportFormat::kJson;
  } else if (format == "csv") {
    f = projections::ReportFormat::kCsv;
    r.content_type = "text/csv; charset=utf-8";
  } else if (format == "md") {
    f = projections::ReportFormat::kMarkdown;
    r.content_type = "text/markdown; charset=utf-8";
  } else if (format == "html") {
    f = projections::ReportFormat::kHtml;
    r.content_type = "text/html; charset=utf-8";
  } else {
    return Malformed("format: '" + format + "' is not one of json, csv, md, html");
  }
  auto report = projections::ComputeReport(*s.engine, {t, Today()});
  if (!report.ok()) return Internal(report.status().message());
  if (f == projections::ReportFormat::kHtml) {
    int y, m, d;
    CivilFromDate(report->as_of, &y, &m, &d);
    Date first = AddMonthsClamped(DateFromCivil(y, m, 1), -23);
    auto rows = projections::ComputeSeriesAt(*s.engine, first, report->as_of, report->log_position);
    if (!rows.ok()) return Internal(rows.status().message());
    r.body = projections::RenderHtml(*report, *rows);
  } else {
    r.body = projections::RenderReport(*report, f);
  }
  return r;
}

}  // namespace relais::server
