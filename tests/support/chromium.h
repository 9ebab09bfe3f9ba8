// Headless Chromium for the tests that read a page as a user's browser
// renders it: the DOM after layout, and the page printed to PDF.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "relais/status.h"

namespace relais::testing {

class HeadlessChromium {
 public:
  // The browser at $RELAIS_CHROMIUM or Debian's path; nullopt when none is
  // installed (scripts/install-deps.sh installs it, so CI always has one).
  // `profile_dir` is a fresh directory the browser may fill.
  static std::optional<HeadlessChromium> Find(std::string profile_dir);

  // The DOM of the local file `page` once rendered.
  Result<std::string> DumpDom(const std::string& page) const;
  // Writes `html` to the local file `page`, then renders it.
  Result<std::string> Render(const std::string& html, const std::string& page) const;
  // `page` printed to `pdf` without the browser's header and footer.
  Status PrintToPdf(const std::string& page, const std::string& pdf) const;

 private:
  HeadlessChromium(std::string binary, std::string profile_dir)
      : binary_(std::move(binary)), profile_dir_(std::move(profile_dir)) {}
  // Runs the browser on `page` with `args` before it; its stdout.
  Result<std::string> Run(const std::string& args, const std::string& page) const;

  std::string binary_;
  std::string profile_dir_;
};

// What every printable page of relais is (the report, the household's file,
// the tenancy record): self-contained (no script, no external resource), in
// French, A4, with table heads repeated on each printed page. Fails the
// calling test otherwise.
void ExpectSelfContainedPrintablePage(const std::string& html);

// The visible text of a DOM: tags removed (style and title with their
// content), the entities the renderers write decoded.
std::string VisibleText(std::string dom);

// The size (width, height in points) of each page of a PDF, read from its
// /MediaBox entries.
std::vector<std::pair<double, double>> PdfPageSizes(const std::string& pdf_bytes);

}  // namespace relais::testing
