#include "support/chromium.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

namespace relais::testing {

std::optional<HeadlessChromium> HeadlessChromium::Find(std::string profile_dir) {
  if (const char* env = std::getenv("RELAIS_CHROMIUM"))
    return HeadlessChromium(env, std::move(profile_dir));
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"})
    if (std::filesystem::exists(p)) return HeadlessChromium(p, std::move(profile_dir));
  return std::nullopt;
}

Result<std::string> HeadlessChromium::Run(const std::string& args, const std::string& page) const {
  // The background-networking flags keep the browser from dialling out: this
  // machine's network is closed and each refused connection slows the run.
  // `timeout` bounds a browser that hangs, so a test fails instead of CI.
  std::string cmd = "timeout 120 '" + binary_ +
                    "' --headless --no-sandbox --disable-gpu --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --user-data-dir='" + profile_dir_ + "' " + args + " 'file://" + page +
                    "' 2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return Status::IoError("cannot start " + binary_);
  std::string out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return Status::Internal("chromium failed on " + page + " (status " + std::to_string(st) + ")");
  return out;
}

Result<std::string> HeadlessChromium::DumpDom(const std::string& page) const {
  return Run("--dump-dom", page);
}

Result<std::string> HeadlessChromium::Render(const std::string& html, const std::string& page) const {
  std::ofstream out(page, std::ios::binary | std::ios::trunc);
  out << html;
  out.close();
  if (!out) return Status::IoError("cannot write " + page);
  return DumpDom(page);
}

Status HeadlessChromium::PrintToPdf(const std::string& page, const std::string& pdf) const {
  auto r = Run("--no-pdf-header-footer --print-to-pdf='" + pdf + "'", page);
  return r.ok() ? Status::Ok() : r.status();
}

void ExpectSelfContainedPrintablePage(const std::string& html) {
  for (const char* absent : {"<script", "<link", "src=", "href="})
    EXPECT_EQ(html.find(absent), std::string::npos) << "the page holds " << absent;
  for (const char* present : {"<html lang=\"fr\">", "@page { size: A4", "thead { display: table-header-group; }"})
    EXPECT_NE(html.find(present), std::string::npos) << "the page lacks " << present;
}

std::string VisibleText(std::string dom) {
  dom = std::regex_replace(dom, std::regex("<style[^>]*>[\\s\\S]*?</style>"), " ");
  dom = std::regex_replace(dom, std::regex("<title[^>]*>[\\s\\S]*?</title>"), " ");
  dom = std::regex_replace(dom, std::regex("<[^>]*>"), " ");
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
           {"&nbsp;", "\u00a0"}})
    dom = std::regex_replace(dom, std::regex(from), to);
  return dom;
}

std::vector<std::pair<double, double>> PdfPageSizes(const std::string& pdf_bytes) {
  std::vector<std::pair<double, double>> sizes;
  const std::regex media_box("/MediaBox \\[0 0 ([0-9.]+) ([0-9.]+)\\]");
  for (auto it = std::sregex_iterator(pdf_bytes.begin(), pdf_bytes.end(), media_box);
       it != std::sregex_iterator(); ++it)
    sizes.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  return sizes;
}

}  // namespace relais::testing
