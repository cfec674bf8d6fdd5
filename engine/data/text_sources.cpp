#include "engine/data/text_sources.hpp"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace dipaco::engine {

namespace fs = std::filesystem;

int Corpus::add_domain(const std::string& name) {
  const auto it = std::find(domains.begin(), domains.end(), name);
  if (it != domains.end()) return static_cast<int>(it - domains.begin());
  domains.push_back(name);
  return static_cast<int>(domains.size()) - 1;
}

std::string sanitize_utf8(std::string_view s) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) { ++i; continue; }
    if (c < 0x80) { out += static_cast<char>(c); ++i; continue; }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    bool ok = len > 0 && i + static_cast<size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if (ok) ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                   (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    if (ok) {
      out.append(s.substr(i, static_cast<size_t>(len)));
      i += static_cast<size_t>(len);
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string() + ": cannot open (check that it exists and is readable)");
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1F || static_cast<unsigned char>(raw[1]) != 0x8B) return raw;

  // gzip or dictzip (a gzip with an extra header field): inflate all members.
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) throw DataError(path.string() + ": zlib initialisation failed");
  std::string out;
  std::vector<char> buf(1 << 20);
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf.data(), buf.size() - z.avail_out);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // next gzip member
      continue;
    }
    if (rc != Z_OK) {
      inflateEnd(&z);
      throw DataError(path.string() + ": corrupt gzip data (reinstall the package or replace the file)");
    }
  }
  inflateEnd(&z);
  return out;
}

namespace {

// Lines grouped into records that end where is_separator(line) holds; records are trimmed and
// empty ones dropped.
template <class Pred>
std::vector<std::string> split_records(const std::string& text, Pred is_separator) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line, record;
  auto flush = [&] {
    const auto first = record.find_first_not_of(" \t\n");
    if (first != std::string::npos) out.push_back(record.substr(first, record.find_last_not_of(" \t\n") - first + 1));
    record.clear();
  };
  while (std::getline(in, line)) {
    if (is_separator(line)) flush();
    else record += line + "\n";
  }
  flush();
  return out;
}

}  // namespace

std::vector<std::string> parse_fortunes(const std::string& text) {
  return split_records(text, [](const std::string& line) { return line == "%"; });
}

uint64_t dictd_base64(std::string_view digits) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint64_t v = 0;
  for (char c : digits) {
    const auto pos = alphabet.find(c);
    if (pos == std::string::npos) throw std::invalid_argument(std::string("bad dictd base64 digit '") + c + "'");
    v = v * 64 + pos;
  }
  return v;
}

std::vector<std::string> parse_dictd(const std::string& dict, const std::string& index, const std::string& index_name) {
  std::vector<std::string> out;
  std::set<uint64_t> seen;  // several headwords may point at one entry
  std::istringstream in(index);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos)
      throw DataError(index_name + ":" + std::to_string(line_no) + ": not a dictd index line (headword, offset, length)");
    if (line.rfind("00-database", 0) == 0 || line.rfind("00database", 0) == 0) continue;
    uint64_t offset = 0, length = 0;
    try {
      offset = dictd_base64(std::string_view(line).substr(t1 + 1, t2 - t1 - 1));
      const auto t3 = line.find('\t', t2 + 1);
      length = dictd_base64(std::string_view(line).substr(t2 + 1, t3 == std::string::npos ? std::string::npos : t3 - t2 - 1));
    } catch (const std::invalid_argument& e) {
      throw DataError(index_name + ":" + std::to_string(line_no) + ": " + e.what());
    }
    if (offset + length > dict.size())
      throw DataError(index_name + ":" + std::to_string(line_no) + ": entry points past the end of the dictionary (mismatched .index and .dict.dz?)");
    if (!seen.insert(offset).second) continue;
    out.push_back(dict.substr(offset, length));
  }
  return out;
}

namespace {

// Drops a line's leading indentation and collapses the entry's trailing whitespace.
std::string tidy_lines(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    out += (first == std::string::npos ? "" : line.substr(first)) + "\n";
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string strip_gcide(const std::string& entry) {
  std::string out;
  out.reserve(entry.size());
  for (size_t i = 0; i < entry.size(); ++i) {
    const char c = entry[i];
    if (c == '\\') {
      // \Al"lo*cate\ : keep the word, drop the stress and syllable marks.
      const auto end = entry.find('\\', i + 1);
      if (end == std::string::npos) continue;
      for (size_t k = i + 1; k < end; ++k)
        if (entry[k] != '"' && entry[k] != '*' && entry[k] != '`' && entry[k] != '\'') out += entry[k];
      i = end;
    } else if (c == '{' || c == '}') {
      continue;
    } else if (c == '[') {
      // Source tags: [1913 Webster], [WordNet 1.5], [PJC], [Obs.] stays (it is content).
      const auto end = entry.find(']', i + 1);
      const std::string tag = end == std::string::npos ? "" : entry.substr(i + 1, end - i - 1);
      if (tag.find("Webster") != std::string::npos || tag.rfind("WordNet", 0) == 0 || tag == "PJC" ||
          tag == "RN" || tag == "Chambers 1728" || tag == "Century Dict.") {
        i = end;
        continue;
      }
      out += c;
    } else {
      out += c;
    }
  }
  return tidy_lines(out);
}

std::string strip_foldoc(const std::string& entry) {
  std::string out;
  out.reserve(entry.size());
  for (size_t i = 0; i < entry.size(); ++i) {
    if (entry[i] == '{') {
      const auto end = entry.find('}', i + 1);
      if (end == std::string::npos) continue;
      std::string inner = entry.substr(i + 1, end - i - 1);
      const auto url = inner.rfind(" (");
      if (url != std::string::npos && inner.back() == ')') inner.resize(url);  // {text (url)} -> text
      out += inner;
      i = end;
    } else {
      out += entry[i];
    }
  }
  return tidy_lines(out);
}

std::vector<std::string> split_paragraphs(const std::string& text) {
  return split_records(text, [](const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; });
}

std::vector<std::string> parse_jsonl(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      // Invalid UTF-8 inside strings must not stop the run: sanitize before parsing.
      j = nlohmann::json::parse(sanitize_utf8(line));
    } catch (const nlohmann::json::exception& e) {
      throw DataError(name + ":" + std::to_string(line_no) + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw DataError(name + ":" + std::to_string(line_no) + ": no string field \"text\" (expected C4-style JSON lines)");
    out.push_back(j["text"].get<std::string>());
  }
  return out;
}

namespace {

struct DebianFile {
  const char* path;
  const char* package;
};
constexpr DebianFile kDebianFiles[] = {
    {"usr/share/games/fortunes/science", "fortunes"},
    {"usr/share/dictd/foldoc.dict.dz", "dict-foldoc"},
    {"usr/share/dictd/foldoc.index", "dict-foldoc"},
    {"usr/share/dictd/gcide.dict.dz", "dict-gcide"},
    {"usr/share/dictd/gcide.index", "dict-gcide"},
    {"usr/share/dictd/jargon.dict.dz", "dict-jargon"},
    {"usr/share/dictd/jargon.index", "dict-jargon"},
    {"usr/share/common-licenses/GPL-3", "base-files"},
};

std::vector<fs::path> sorted_regular_files(const fs::path& dir, const std::vector<std::string>& extensions) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    const std::string name = e.path().filename().string();
    bool match = extensions.empty();
    for (const auto& ext : extensions)
      if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) match = true;
    if (match) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> fortune_files(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& p : sorted_regular_files(root / "usr/share/games/fortunes", {}))
    if (p.extension() != ".dat" && p.extension() != ".u8") out.push_back(p);
  return out;
}

void add_documents(Corpus& c, const std::string& domain, const std::vector<std::string>& texts) {
  const int d = c.add_domain(domain);
  for (const auto& t : texts) {
    auto clean = sanitize_utf8(t);
    if (!clean.empty()) c.docs.push_back({d, std::move(clean)});
  }
}

}  // namespace

std::vector<fs::path> source_files(const SourceSpec& spec) {
  if (spec.kind == "debian-mix") {
    for (const auto& f : kDebianFiles) {
      if (!fs::exists(spec.path / f.path))
        throw DataError((spec.path / f.path).string() + " is missing: install it with 'apt-get install " + f.package +
                        "' (scripts/setup.sh does)");
    }
    auto files = fortune_files(spec.path);
    for (const char* name : {"foldoc", "gcide", "jargon"}) {
      files.push_back(spec.path / "usr/share/dictd" / (std::string(name) + ".dict.dz"));
      files.push_back(spec.path / "usr/share/dictd" / (std::string(name) + ".index"));
    }
    for (const auto& p : sorted_regular_files(spec.path / "usr/share/common-licenses", {})) files.push_back(p);
    return files;
  }
  if (spec.kind == "text-folder") {
    if (!fs::is_directory(spec.path)) throw DataError(spec.path.string() + ": not a folder (data.path must name a folder of .txt files)");
    auto files = sorted_regular_files(spec.path, {".txt"});
    if (files.empty()) throw DataError(spec.path.string() + ": no .txt files in this folder (data.path)");
    return files;
  }
  if (spec.kind == "jsonl") {
    if (fs::is_regular_file(spec.path)) return {spec.path};
    if (!fs::is_directory(spec.path)) throw DataError(spec.path.string() + ": no such file or folder (data.path)");
    auto files = sorted_regular_files(spec.path, {".jsonl", ".jsonl.gz", ".json.gz", ".json"});
    if (files.empty()) throw DataError(spec.path.string() + ": no .jsonl or .jsonl.gz files in this folder (data.path)");
    return files;
  }
  throw DataError("unknown data source '" + spec.kind + "'");
}

Corpus read_source(const SourceSpec& spec) {
  Corpus c;
  const auto files = source_files(spec);
  if (spec.kind == "debian-mix") {
    for (const auto& p : fortune_files(spec.path)) add_documents(c, "fortunes", parse_fortunes(read_file(p)));
    const fs::path dictd = spec.path / "usr/share/dictd";
    auto dict_docs = [&](const char* name) {
      return parse_dictd(read_file(dictd / (std::string(name) + ".dict.dz")), read_file(dictd / (std::string(name) + ".index")),
                         (dictd / (std::string(name) + ".index")).string());
    };
    std::vector<std::string> foldoc, gcide, jargon;
    for (auto& e : dict_docs("foldoc")) foldoc.push_back(strip_foldoc(e));
    for (auto& e : dict_docs("gcide")) gcide.push_back(strip_gcide(e));
    for (auto& e : dict_docs("jargon")) jargon.push_back(strip_foldoc(e));  // same {ref} markup
    add_documents(c, "dict-foldoc", foldoc);
    add_documents(c, "dict-gcide", gcide);
    add_documents(c, "dict-jargon", jargon);
    for (const auto& p : sorted_regular_files(spec.path / "usr/share/common-licenses", {}))
      add_documents(c, "licenses", split_paragraphs(read_file(p)));
  } else if (spec.kind == "text-folder") {
    for (const auto& p : files) {
      const std::string text = read_file(p);
      add_documents(c, "text", spec.per_paragraph ? split_paragraphs(text) : std::vector<std::string>{text});
    }
  } else {
    for (const auto& p : files) add_documents(c, "jsonl", parse_jsonl(read_file(p), p.string()));
  }
  return c;
}

}  // namespace dipaco::engine
