#include "engine/data/token_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "engine/data/text_sources.hpp"
#include "reports/atomic_file.hpp"

namespace dipaco::engine {
namespace {

constexpr char kMagic[8] = {'D', 'P', 'C', 'T', 'O', 'K', '\x01', '\0'};
constexpr char kEnd[8] = {'D', 'P', 'C', 'E', 'N', 'D', '\x01', '\0'};
constexpr size_t kNameBytes = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t bytes_per_token;
  uint64_t key;
  uint64_t domains;
  uint64_t train_tokens, validation_tokens;
  uint64_t train_docs, validation_docs;
};
static_assert(sizeof(Header) == 64, "the header is 64 bytes on disk");

uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }

// Byte offsets of every section, from the header's counts alone.
struct Layout {
  uint64_t names, train_tokens, validation_tokens, train_starts, validation_starts, train_domains,
      validation_domains, end, size;
  explicit Layout(const Header& h) {
    names = sizeof(Header);
    train_tokens = names + h.domains * kNameBytes;
    validation_tokens = train_tokens + pad8(h.train_tokens * h.bytes_per_token);
    train_starts = validation_tokens + pad8(h.validation_tokens * h.bytes_per_token);
    validation_starts = train_starts + 8 * h.train_docs;
    train_domains = validation_starts + 8 * h.validation_docs;
    validation_domains = train_domains + pad8(2 * h.train_docs);
    end = validation_domains + pad8(2 * h.validation_docs);
    size = end + sizeof(kEnd);
  }
};

void append(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
void pad_to_8(std::string& out) { out.resize(pad8(out.size()), '\0'); }

void append_tokens(std::string& out, const std::vector<uint32_t>& tokens, int width) {
  if (width == 4) {
    append(out, tokens.data(), tokens.size() * 4);
  } else {
    std::vector<uint16_t> narrow(tokens.begin(), tokens.end());
    append(out, narrow.data(), narrow.size() * 2);
  }
  pad_to_8(out);
}

}  // namespace

void write_token_cache(const std::filesystem::path& path, uint64_t key, const std::vector<std::string>& domains,
                       int bytes_per_token, const std::vector<uint32_t>& train_tokens, const SplitTokens& train,
                       const std::vector<uint32_t>& validation_tokens, const SplitTokens& validation) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kTokenCacheVersion;
  h.bytes_per_token = static_cast<uint32_t>(bytes_per_token);
  h.key = key;
  h.domains = domains.size();
  h.train_tokens = train_tokens.size();
  h.validation_tokens = validation_tokens.size();
  h.train_docs = train.doc_start.size();
  h.validation_docs = validation.doc_start.size();
  std::string out;
  out.reserve(Layout(h).size);
  append(out, &h, sizeof h);
  for (const auto& d : domains) {
    std::string name = d.substr(0, kNameBytes - 1);
    name.resize(kNameBytes, '\0');
    out += name;
  }
  append_tokens(out, train_tokens, bytes_per_token);
  append_tokens(out, validation_tokens, bytes_per_token);
  append(out, train.doc_start.data(), 8 * train.doc_start.size());
  append(out, validation.doc_start.data(), 8 * validation.doc_start.size());
  append(out, train.doc_domain.data(), 2 * train.doc_domain.size());
  pad_to_8(out);
  append(out, validation.doc_domain.data(), 2 * validation.doc_domain.size());
  pad_to_8(out);
  append(out, kEnd, sizeof kEnd);
  reports::write_atomically(path, out);
}

std::optional<MappedCache> open_token_cache(const std::filesystem::path& path, uint64_t key, std::string* why) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "no cache file";
    return std::nullopt;
  }
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const auto size = stat_ok ? static_cast<uint64_t>(st.st_size) : 0;
  if (size < sizeof(Header)) {
    ::close(fd);
    *why = "truncated (shorter than its header)";
    return std::nullopt;
  }
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping stays valid
  if (base == MAP_FAILED) {
    *why = std::string("cannot map: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::shared_ptr<const void> region(base, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
  const auto* bytes = static_cast<const char*>(base);
  Header h;
  std::memcpy(&h, bytes, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    *why = "wrong magic number (not a dipaco-sim token cache)";
    return std::nullopt;
  }
  if (h.version != kTokenCacheVersion) {
    *why = "format version " + std::to_string(h.version) + ", expected " + std::to_string(kTokenCacheVersion);
    return std::nullopt;
  }
  if (h.key != key || (h.bytes_per_token != 2 && h.bytes_per_token != 4) || h.domains > 65535) {
    *why = "header does not match its sources and options";
    return std::nullopt;
  }
  const Layout L(h);
  if (L.size != size || std::memcmp(bytes + L.end, kEnd, sizeof kEnd) != 0) {
    *why = "truncated or padded (" + std::to_string(size) + " bytes, expected " + std::to_string(L.size) + ")";
    return std::nullopt;
  }

  MappedCache c;
  for (uint64_t d = 0; d < h.domains; ++d) c.domains.emplace_back(bytes + L.names + d * kNameBytes);
  auto split = [&](SplitTokens& s, uint64_t tokens_at, uint64_t n_tokens, uint64_t starts_at, uint64_t domains_at, uint64_t docs) {
    s.tokens.owner = region;
    s.tokens.data = bytes + tokens_at;
    s.tokens.size = static_cast<int64_t>(n_tokens);
    s.tokens.bytes_per_token = static_cast<int>(h.bytes_per_token);
    s.doc_start.resize(docs);
    s.doc_domain.resize(docs);
    std::memcpy(s.doc_start.data(), bytes + starts_at, 8 * docs);
    std::memcpy(s.doc_domain.data(), bytes + domains_at, 2 * docs);
  };
  split(c.train, L.train_tokens, h.train_tokens, L.train_starts, L.train_domains, h.train_docs);
  split(c.validation, L.validation_tokens, h.validation_tokens, L.validation_starts, L.validation_domains, h.validation_docs);
  for (const auto* s : {&c.train, &c.validation})
    for (size_t i = 0; i < s->doc_start.size(); ++i)
      if (s->doc_start[i] >= static_cast<uint64_t>(s->tokens.size) || s->doc_domain[i] >= h.domains) {
        *why = "document table points outside the file";
        return std::nullopt;
      }
  return c;
}

}  // namespace dipaco::engine
