// Runs a libFuzzer target over files, without libFuzzer: every build (gcc,
// ASan) replays the committed corpus as an ordinary test, so each input that
// once crashed stays a regression test even where clang's libFuzzer is absent.
//
//   request_fuzz_replay tests/fuzz/corpus/request_fuzz [more files or dirs]
//
// Exits 0 when every input ran (a crash aborts the process, as under
// libFuzzer), 2 on a usage error or an unreadable path, or when no input was
// found at all (a test that replays nothing must not pass).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // A copy of exactly `size` bytes, so ASan sees any read past the input.
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file()) files.push_back(entry.path());
      std::sort(files.begin(), files.end());  // a stable order to reproduce
      for (const auto& f : files) {
        std::fprintf(stderr, "replay %s\n", f.c_str());
        if (!RunFile(f)) {
          std::fprintf(stderr, "cannot read %s\n", f.c_str());
          return 2;
        }
        ++runs;
      }
    } else {
      if (!RunFile(arg)) {
        std::fprintf(stderr, "cannot read %s\n", argv[i]);
        return 2;
      }
      ++runs;
    }
  }
  std::fprintf(stderr, "%zu inputs replayed\n", runs);
  return runs == 0 ? 2 : 0;
}
