// The evaluator's report as a printable French page (issue 12 item 2): the
// indicators of time-and-indicators.md §4 grouped in sections, each with its
// French label and definition from the label catalogue; counts, percentages
// with their numerator and denominator, medians in days; the programme's
// yearly targets; inline SVG charts readable in grayscale; a footer tying
// the page to the log. Every word comes from relais/projections/labels.h.
// One self-contained file: no script, nothing fetched.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "html_escape.h"
#include "relais/projections/labels.h"
#include "relais/projections/report.h"

namespace relais::projections {

namespace {

// A catalogue word (labels_test reads this file for every Words("...") key).
std::string_view Words(std::string_view key) { return labels::ReportText(key); }

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string Replace(std::string s, std::string_view from, const std::string& to) {
  size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// 12345 -> "12 345" (narrow no-break space between thousands).
std::string Count(int64_t v) {
  bool negative = v < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits = std::to_string(u), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u202f";
    out += digits[i];
  }
  return (negative ? "-" : "") + out;
}

// k / n as "49,4 %": rounded half up to a tenth, in integers (no binary
// rounding surprises at .x5).
std::string Percent(int64_t k, int64_t n) {
  int64_t tenths = (2000 * k + n) / (2 * n);
  return Count(tenths / 10) + "," + std::to_string(tenths % 10) + "\u00a0%";
}

// A median's JSON text ("184", "184.5", "null") in days.
std::string Days(const std::string& json) {
  if (json == "null") return std::string(Words("value.none"));
  std::string fr = json;
  std::replace(fr.begin(), fr.end(), '.', ',');
  bool plural = std::strtod(json.c_str(), nullptr) >= 2;
  return fr + "\u00a0" + std::string(Words(plural ? "unit.days" : "unit.day"));
}

// The rates and what they are k / n of (time-and-indicators.md §4).
struct RateParts {
  int64_t k, n;
};
std::optional<RateParts> RateOf(std::string_view key, const TerritoryFigures& f) {
  if (key == "retention12m.rate") return RateParts{f.retention_retained, f.retention_cohort};
  if (key == "exits.toPermanentRate")
    return RateParts{f.exits_permanent,
                     f.exits_total - f.exits_by_reason[static_cast<size_t>(sc::EndReason::DEATH)]};
  if (key == "evictions.avoided.rate") return RateParts{f.avoided, f.avoided_cohort};
  if (key == "support.resumption.rate") return RateParts{f.resumed, f.resumption_cohort};
  if (key == "support.reviewCompliance.rate") return RateParts{f.review_compliant, f.review_cohort};
  if (key == "support.objectives.rate") return RateParts{f.objectives_achieved, f.objectives_total};
  return std::nullopt;
}

bool IsMedian(std::string_view key) { return key.find("median") != std::string_view::npos ||
                                              key.find("Median") != std::string_view::npos; }

// One cell of a figure.
std::string Cell(std::string_view key, const std::string& json, const TerritoryFigures& f) {
  if (auto rate = RateOf(key, f)) {
    if (rate->n == 0) return "<td>" + std::string(Words("value.none")) + "</td>";
    return "<td>" + Percent(rate->k, rate->n) + "<br><span class=\"parts\">" + Count(rate->k) + " " +
           std::string(Words("rate.of")) + " " + Count(rate->n) + "</span></td>";
  }
  if (IsMedian(key)) return "<td>" + Days(json) + "</td>";
  if (json == "null") return "<td>" + std::string(Words("value.none")) + "</td>";
  return "<td>" + Count(std::strtoll(json.c_str(), nullptr, 10)) + "</td>";
}

std::string TargetText(std::string_view key, const Report& r, const ProgrammeTargets& t) {
  int64_t all = 0, lo = 0, hi = 0;
  std::string text;
  if (key == "householdsSupported.access") {
    all = r.territories[0].supported_access;
    lo = t.access_min;
    hi = t.access_max;
    text = Replace(Replace(std::string(Words("target.range")), "{min}", Count(lo)), "{max}", Count(hi));
  } else if (key == "householdsSupported.maintien") {
    all = r.territories[0].supported_maintien;
    lo = hi = t.maintien;
    text = Replace(std::string(Words("target.single")), "{n}", Count(lo));
  } else {
    return "<td></td>";
  }
  std::string_view status = all < lo ? Words("target.below") : all > hi ? Words("target.above")
                                                                     : Words("target.within");
  return "<td class=\"target\">" + Esc(text) + "<br><span class=\"parts\">" + Esc(status) + "</span></td>";
}

// --------------------------------------------------------------- charts

// Grayscale-safe series styles: a dash pattern and a marker shape each, in
// shades of gray, so that series read apart without colour.
struct SeriesStyle {
  const char* dash;
  const char* gray;
  int marker;  // 0 circle, 1 square, 2 triangle, 3 diamond
};
constexpr SeriesStyle kStyles[] = {
    {"", "#000", 0}, {"7 4", "#444", 1}, {"2 3", "#222", 2}, {"10 3 2 3", "#666", 3}};

std::string Marker(int shape, double x, double y, const char* gray) {
  char buf[256];
  switch (shape) {
    case 0:
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", x, y, gray);
      break;
    case 1:
      std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"6\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"1.5\"/>",
                    x - 3, y - 3, gray);
      break;
    case 2:
      std::snprintf(buf, sizeof buf, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\"/>", x, y - 4, x + 4,
                    y + 3, x - 4, y + 3, gray);
      break;
    default:
      std::snprintf(buf, sizeof buf, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"#fff\" stroke=\"%s\" stroke-width=\"1.5\"/>",
                    x, y - 4, x + 4, y, x, y + 4, x - 4, y, gray);
  }
  return buf;
}

// "2019-03" -> "mars 2019".
std::string MonthLabel(const std::string& month) {
  static constexpr std::string_view kKeys[] = {"month.01", "month.02", "month.03", "month.04",
                                               "month.05", "month.06", "month.07", "month.08",
                                               "month.09", "month.10", "month.11", "month.12"};
  int m = std::atoi(month.c_str() + 5);
  if (m < 1 || m > 12) return month;
  return std::string(labels::ReportText(kKeys[m - 1])) + " " + month.substr(0, 4);
}

struct Line {
  std::string name;
  std::vector<int64_t> values;
};

// One SVG line chart: months on x (axis titled), counts on y (axis titled),
// one line per series with its dash pattern, a marker on every point and
// its name written at the line's end.
std::string LineChart(const std::string& title, std::string_view y_title, const std::vector<std::string>& months,
                      const std::vector<Line>& lines) {
  const int width = 720, height = 280, left = 62, right = 170, top = 16, bottom = 52;
  int64_t max_v = 1;
  for (const Line& l : lines)
    for (int64_t x : l.values) max_v = std::max(max_v, x);
  // Round the axis up to 1, 2, 4, 5 or 8 times a power of ten: gridlines at
  // quarters of it read well, and the curve keeps most of the height.
  [&] {
    for (int64_t power = 1;; power *= 10)
      for (int64_t m : {1, 2, 4, 5, 8})
        if (max_v <= m * power) {
          max_v = m * power;
          return;
        }
  }();
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto X = [&](size_t i) { return left + (months.size() <= 1 ? 0.0 : plot_w * i / (months.size() - 1)); };
  auto Y = [&](int64_t v) { return top + plot_h - plot_h * static_cast<double>(v) / static_cast<double>(max_v); };
  char buf[512];
  std::string s = "<figure><figcaption>" + Esc(title) + "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                  std::to_string(width) + " " + std::to_string(height) + "\" role=\"img\" aria-label=\"" + Esc(title) +
                  "\">";
  // Gridlines and y tick labels.
  for (int g = 0; g <= 4; ++g) {
    int64_t v = max_v * g / 4;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
                  "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>",
                  left, left + plot_w, Y(v), Y(v), left - 4, Y(v) + 3, Count(v).c_str());
    s += buf;
  }
  // x tick labels: about eight months named.
  const size_t step = std::max<size_t>(1, (months.size() + 7) / 8);
  for (size_t i = 0; i < months.size(); i += step) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%s</text>",
                  X(i), X(i), top + plot_h, top + plot_h + 4, X(i), top + plot_h + 15,
                  Esc(MonthLabel(months[i])).c_str());
    s += buf;
  }
  // Axes and their titles.
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%.1f\" stroke=\"#000\"/>"
                "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>"
                "<text class=\"axis-title\" x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>"
                "<text class=\"axis-title\" transform=\"translate(14 %.1f) rotate(-90)\" font-size=\"11\" "
                "text-anchor=\"middle\">%s</text>",
                left, left, top, top + plot_h, left, left + plot_w, top + plot_h, top + plot_h,
                left + plot_w / 2, height - 12, Esc(Words("axis.month")).c_str(), top + plot_h / 2,
                Esc(y_title).c_str());
  s += buf;
  // The lines, then their names at the right end, pushed apart so that two
  // lines ending on the same value still have readable names.
  std::vector<std::pair<double, size_t>> ends;
  for (size_t l = 0; l < lines.size(); ++l) {
    const SeriesStyle& st = kStyles[l % 4];
    std::string points;
    for (size_t i = 0; i < lines[l].values.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", i ? " " : "", X(i), Y(lines[l].values[i]));
      points += buf;
    }
    s += "<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"" + std::string(st.gray) + "\"" +
         (*st.dash ? " stroke-dasharray=\"" + std::string(st.dash) + "\"" : "") + " points=\"" + points + "\"/>";
    for (size_t i = 0; i < lines[l].values.size(); ++i) s += Marker(st.marker, X(i), Y(lines[l].values[i]), st.gray);
    if (!lines[l].values.empty()) ends.push_back({Y(lines[l].values.back()), l});
  }
  std::sort(ends.begin(), ends.end());
  double last_y = -1e9;
  for (auto& [y, l] : ends) {
    y = std::max(y, last_y + 13);
    last_y = y;
  }
  for (const auto& [y, l] : ends) {
    const SeriesStyle& st = kStyles[l % 4];
    double x0 = left + plot_w + 8;
    std::snprintf(buf, sizeof buf, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.8\"%s/>",
                  x0, x0 + 22, y, y, st.gray,
                  *st.dash ? (std::string(" stroke-dasharray=\"") + st.dash + "\"").c_str() : "");
    s += buf;
    s += Marker(st.marker, x0 + 11, y, st.gray);
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>", x0 + 27, y + 4,
                  Esc(lines[l].name).c_str());
    s += buf;
  }
  return s + "</svg></figure>\n";
}

std::string Charts(const Report& r, const std::vector<SeriesRow>& series) {
  std::vector<std::string> months;
  for (const auto& row : series)
    if (row.territory == std::string("all")) months.push_back(row.month);
  auto pick = [&](const char* territory, int64_t SeriesRow::*field) {
    std::vector<int64_t> v;
    for (const auto& row : series)
      if (row.territory == territory) v.push_back(row.*field);
    return v;
  };
  auto territory_name = [](size_t t) {
    return std::string(t == 0 ? Words("territory.all") : labels::Value("Territory", kTerritoryKeys[t]));
  };
  std::string h = "<section class=\"charts\"><h2>" + Esc(Words("section.charts")) + "</h2>\n<p>" +
                  Esc(Words("section.charts.intro")) + " " + Esc(labels::FrenchDate(FormatDate(r.as_of))) + ".</p>\n";
  for (size_t t = 0; t < 4; ++t)
    h += LineChart(std::string(Words("chart.supported")) + " — " + territory_name(t), Words("axis.households"), months,
                   {{std::string(Words("series.access")), pick(kTerritoryKeys[t], &SeriesRow::supported_access)},
                    {std::string(Words("series.maintien")), pick(kTerritoryKeys[t], &SeriesRow::supported_maintien)},
                    {std::string(Words("series.unreferred")), pick(kTerritoryKeys[t], &SeriesRow::supported_unreferred)}});
  std::vector<Line> arrears;
  for (size_t t : {1, 2, 3, 0}) arrears.push_back({territory_name(t), pick(kTerritoryKeys[t], &SeriesRow::arrears_open)});
  h += LineChart(std::string(Words("chart.arrears")), Words("axis.households"), months, arrears);
  h += LineChart(std::string(Words("chart.moves")), Words("axis.count"), months,
                 {{std::string(Words("series.moveIns")), pick("all", &SeriesRow::move_ins)},
                  {std::string(Words("series.leaseSwitches")), pick("all", &SeriesRow::lease_switches)}});
  h += LineChart(std::string(Words("chart.evictions")), Words("axis.count"), months,
                 {{std::string(Words("series.carriedOut")), pick("all", &SeriesRow::evictions_carried_out)},
                  {std::string(Words("series.avoided")), pick("all", &SeriesRow::evictions_avoided)}});
  h += "<p class=\"note\">" + Esc(Words("chart.evictions.note")) + "</p>\n</section>\n";
  return h;
}

// --------------------------------------------------------------- tables

// The rows of one section: "x.*" expands to every flattened key under x.
std::vector<std::string> ExpandRows(const ReportSection& section,
                                    const std::vector<std::pair<std::string, std::string>>& flat) {
  std::vector<std::string> out;
  for (std::string_view row : section.rows) {
    if (row.size() > 2 && row.substr(row.size() - 2) == ".*") {
      std::string prefix(row.substr(0, row.size() - 1));
      for (const auto& [k, v] : flat)
        if (k.rfind(prefix, 0) == 0) out.push_back(k);
    } else {
      out.emplace_back(row);
    }
  }
  return out;
}

std::string LabelCell(std::string_view key, bool sub) {
  labels::Indicator ind = labels::IndicatorLabel(key);
  std::string h = std::string("<th scope=\"row\"") + (sub ? " class=\"sub\"" : "") + ">" + Esc(ind.label);
  // A per-value row (one CAL decision, one exit reason) would repeat its
  // group's definition, already written above it.
  if (labels::HasIndicatorDefinition(key)) h += "<span class=\"def\">" + Esc(ind.definition) + "</span>";
  return h + "</th>";
}

std::string SectionTable(const ReportSection& section, const Report& r, const HtmlOptions& options,
                         const std::array<std::map<std::string, std::string>, 4>& values,
                         const std::vector<std::pair<std::string, std::string>>& flat) {
  std::vector<std::string> rows = ExpandRows(section, flat);
  bool has_target = std::find(rows.begin(), rows.end(), "householdsSupported.access") != rows.end();
  const int columns = 5 + (has_target ? 1 : 0);
  std::string h = "<section><h2>" + Esc(Words(section.title_key)) + "</h2>\n<table>\n<thead><tr><th scope=\"col\">" +
                  Esc(Words("column.indicator")) + "</th>";
  for (size_t t = 0; t < 4; ++t)
    h += "<th scope=\"col\">" +
         Esc(t == 0 ? Words("territory.all") : labels::Value("Territory", kTerritoryKeys[t])) + "</th>";
  if (has_target) h += "<th scope=\"col\">" + Esc(Words("column.target")) + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const std::string& key : rows) {
    const bool figure = values[0].count(key) > 0;
    const bool sub = key.find('.') != std::string::npos;
    if (!figure) {
      // A group (referralsReceived, exits...): its label and definition
      // over the figures that follow.
      labels::Indicator ind = labels::IndicatorLabel(key);
      h += "<tr class=\"group\"><th scope=\"rowgroup\" colspan=\"" + std::to_string(columns) + "\"" +
           (sub ? " class=\"sub\"" : "") + ">" + Esc(ind.label);
      if (!ind.definition.empty()) h += "<span class=\"def\">" + Esc(ind.definition) + "</span>";
      h += "</th></tr>\n";
      continue;
    }
    h += "<tr>" + LabelCell(key, sub);
    for (size_t t = 0; t < 4; ++t) h += Cell(key, values[t].at(key), r.territories[t]);
    if (has_target) h += TargetText(key, r, options.targets);
    h += "</tr>\n";
  }
  h += "</tbody>\n</table>\n";
  if (has_target) h += "<p class=\"note\">" + Esc(Words("target.source")) + "</p>\n";
  return h + "</section>\n";
}

// The command that gives these figures again, and whether an instant pins
// the view exactly.
std::string ReproduceCommand(const Report& r, const char* format) {
  std::string cmd = "relais report --as-of " + FormatDate(r.as_of);
  if (r.known_at) {
    cmd += " --known-at " + FormatTimestamp(*r.known_at);
  } else if (r.view_recorded_at) {
    cmd += " --known-at " + FormatTimestamp(*r.view_recorded_at);
  }
  return cmd + " --format " + format;
}

constexpr const char* kStyle =
    "@page { size: A4; margin: 14mm 12mm; }\n"
    "body { font-family: 'DejaVu Sans', sans-serif; font-size: 10pt; color: #000; margin: 0 auto; max-width: 190mm; }\n"
    "h1 { font-size: 16pt; margin: 0 0 4pt 0; } h2 { font-size: 12.5pt; margin: 14pt 0 4pt 0; break-after: avoid; }\n"
    "table { border-collapse: collapse; width: 100%; margin-bottom: 6pt; }\n"
    "thead { display: table-header-group; }\n"
    "tr { break-inside: avoid; }\n"
    "th, td { border: 1px solid #888; padding: 2pt 4pt; vertical-align: top; }\n"
    "thead th { background: #e6e6e6; text-align: center; }\n"
    "td { text-align: right; white-space: nowrap; }\n"
    "th[scope=row] { text-align: left; font-weight: normal; }\n"
    "th.sub { padding-left: 14pt; }\n"
    "tr.group th { text-align: left; background: #f3f3f3; font-weight: bold; }\n"
    ".def { display: block; font-size: 8pt; color: #333; font-weight: normal; }\n"
    ".parts { font-size: 8pt; color: #333; }\n"
    "td.target { text-align: left; white-space: normal; }\n"
    ".note { font-size: 8.5pt; color: #333; }\n"
    "figure { break-inside: avoid; page-break-inside: avoid; margin: 0 0 10pt 0; }\n"
    "figcaption { font-weight: bold; margin-bottom: 2pt; }\n"
    "svg { width: 100%; height: auto; }\n"
    "footer { border-top: 1px solid #000; margin-top: 14pt; padding-top: 4pt; font-size: 8.5pt; break-inside: avoid; }\n"
    "footer dt { font-weight: bold; } footer dd { margin: 0 0 4pt 0; }\n"
    "code, pre { font-family: 'DejaVu Sans Mono', monospace; font-size: 8pt; overflow-wrap: anywhere; white-space: pre-wrap; }\n";

}  // namespace

const std::vector<ReportSection>& ReportSections() {
  static const std::vector<ReportSection> sections = {
      {"section.demand",
       {"householdsRegistered", "referralsReceived", "referralsReceived.access", "referralsReceived.maintien",
        "referralsReceived.bySource", "referralsReceived.bySource.*"}},
      {"section.allocation", {"calDecisions", "calDecisions.*", "moveIns", "medianDaysReferralToMoveIn"}},
      {"section.housing",
       {"leaseSwitches", "medianDaysToSwitch", "retention12m", "retention12m.cohort", "retention12m.retained",
        "retention12m.rate", "exits", "exits.total", "exits.byReason", "exits.byReason.*", "exits.toPermanentRate"}},
      {"section.support",
       {"householdsSupported", "householdsSupported.access", "householdsSupported.maintien",
        "householdsSupported.unreferred", "activeSupportAtDate", "support", "support.closed",
        "support.closedByReason", "support.closedByReason.*", "support.medianDays", "support.resumption",
        "support.resumption.cohort", "support.resumption.resumed", "support.resumption.rate",
        "support.reviewCompliance", "support.reviewCompliance.cohort", "support.reviewCompliance.compliant",
        "support.reviewCompliance.rate", "support.objectives", "support.objectives.total",
        "support.objectives.achieved", "support.objectives.rate"}},
      {"section.arrears",
       {"arrears", "arrears.openAtDate", "arrears.alertsRaised", "arrears.cleared", "evictions",
        "evictions.carriedOut", "evictions.avoided", "evictions.avoided.cohort", "evictions.avoided.avoided",
        "evictions.avoided.rate"}},
      {"section.platform",
       {"platform", "platform.staffTrainings", "platform.attendees", "platform.tenantConsultations",
        "platform.partnerMeetings"}},
  };
  return sections;
}

std::string RenderHtml(const Report& r, const std::vector<SeriesRow>& series, const HtmlOptions& options) {
  const std::string as_of = labels::FrenchDate(FormatDate(r.as_of));
  std::string h = "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>" +
                  Esc(Words("title")) + " " + Esc(as_of) + "</title>\n<style>\n" + kStyle + "</style></head><body>\n";
  h += "<header><h1>" + Esc(Words("title")) + " " + Esc(as_of) + "</h1>\n<p>" + Esc(Words("intro.period")) + " " +
       Esc(labels::FrenchDate(FormatDate(PeriodStart(r.as_of)))) + " " + Esc(Words("intro.to")) + " " + Esc(as_of) +
       ".<br>" +
       (r.known_at ? Esc(Words("intro.knownAt")) + " " + Esc(labels::FrenchDate(FormatTimestamp(*r.known_at)))
                   : Esc(Words("intro.wholeLog"))) +
       ".</p>\n<p class=\"note\">" + Esc(Words("intro.howToRead")) + "</p></header>\n";
  std::vector<std::pair<std::string, std::string>> flat = FlattenFigures(r.territories[0]);
  std::array<std::map<std::string, std::string>, 4> values;
  for (size_t t = 0; t < 4; ++t) {
    auto f = FlattenFigures(r.territories[t]);
    values[t].insert(f.begin(), f.end());
  }
  for (const ReportSection& section : ReportSections()) h += SectionTable(section, r, options, values, flat);
  if (!series.empty()) h += Charts(r, series);
  // The footer: what ties the page to the log.
  h += "<footer><h2>" + Esc(Words("section.verify")) + "</h2><dl>\n<dt>" + Esc(Words("footer.position")) +
       "</dt><dd>" + Count(static_cast<int64_t>(r.log_position)) + "</dd>\n<dt>" + Esc(Words("footer.hash")) +
       "</dt><dd><code>" + Esc(r.log_hash) + "</code></dd>\n<dt>" + Esc(Words("footer.command")) +
       "</dt><dd><code>" + Esc(ReproduceCommand(r, "html")) + "</code><br>" + Esc(Words("footer.commandNote")) +
       "<br><code>" + Esc(ReproduceCommand(r, "json")) + " &gt; rapport.json</code><br><code>relais report --check "
       "rapport.json</code>";
  if (!r.known_at && r.view_recorded_at && !r.view_pinnable) h += "<br>" + Esc(Words("footer.notPinnable"));
  h += "</dd>\n<dt>" + Esc(Words("footer.checkpoint")) + "</dt><dd>";
  h += r.checkpoint ? "<pre>" + Esc(*r.checkpoint) + "</pre>" : Esc(Words("footer.noCheckpoint"));
  h += "</dd>\n</dl><p class=\"note\">" + Esc(Words("footer.generated")) + "</p></footer>\n</body></html>\n";
  return h;
}

}  // namespace relais::projections
