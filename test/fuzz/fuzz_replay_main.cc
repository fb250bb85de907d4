// Runs a libFuzzer target without libFuzzer, for compilers that lack it (GCC: `make test` and
// the ASan build): every file of the given corpus folders, then deterministic mutations of them
// (bit flips, byte changes, insertions, erasures, splices) until a run count or a time limit.
//   fuzz_replay [--runs N] [--seconds S] DIR_OR_FILE...
// Exit status 0; a finding crashes (or trips a sanitizer) like under libFuzzer.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string readFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

uint64_t next(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

void mutate(std::string& in, const std::vector<std::string>& seeds, uint64_t& rng) {
  int ops = 1 + static_cast<int>(next(rng) % 4);
  for (int i = 0; i < ops; ++i) {
    size_t pos = in.empty() ? 0 : next(rng) % in.size();
    switch (next(rng) % 5) {
      case 0:
        if (!in.empty()) {
          in[pos] = static_cast<char>(in[pos] ^ (1 << (next(rng) % 8)));
        }
        break;
      case 1:
        if (!in.empty()) {
          in[pos] = static_cast<char>(next(rng));
        }
        break;
      case 2:
        in.insert(pos, 1, static_cast<char>(next(rng)));
        break;
      case 3:
        in.erase(pos, next(rng) % 16);
        break;
      default: {
        const std::string& other = seeds[next(rng) % seeds.size()];
        if (!other.empty()) {
          size_t from = next(rng) % other.size();
          in.insert(pos, other.substr(from, next(rng) % 64));
        }
        break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 20000;
  double seconds = 20;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::strtod(argv[++i], nullptr);
    } else if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i])) {
        if (e.is_regular_file()) {
          seeds.push_back(readFile(e.path()));
        }
      }
    } else {
      seeds.push_back(readFile(argv[i]));
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "fuzz_replay: no corpus\n");
    return 2;
  }
  for (const std::string& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  uint64_t done = 0;
  for (; done < runs && std::chrono::steady_clock::now() < deadline; ++done) {
    std::string in = seeds[next(rng) % seeds.size()];
    mutate(in, seeds, rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
  std::printf("fuzz_replay: %zu corpus inputs, %llu mutations\n", seeds.size(),
              static_cast<unsigned long long>(done));
  return 0;
}
