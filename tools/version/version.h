// The one version string of this build (CMakeLists.txt: the project version,
// plus `git describe` of the checkout at configure time when there is one).
// `relais --version`, `relais version`, GET /healthz and the package all say it.
#pragma once

namespace relais {

// "0.1.0+e68b54b" from a git checkout ("-dirty" when it had uncommitted
// changes at configure time), "0.1.0" when built without git.
const char* Version();

}  // namespace relais
