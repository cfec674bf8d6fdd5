// Readers for real text: the built-in debian-mix (fortunes, FOLDOC, GCIDE, the Jargon File, licence
// texts, all from Debian packages) and users' corpora (folders of .txt, JSON lines with a "text"
// field, plain or gzip'd). Torch-free. Every reader returns valid UTF-8: bad bytes become U+FFFD.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/data/corpus.hpp"

namespace dipaco::engine {

// Bad or missing input files: the message names the file and the fix.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Documents with their domain labels (Document::domain indexes `domains`).
struct Corpus {
  std::vector<std::string> domains;
  std::vector<Document> docs;
  int add_domain(const std::string& name);
};

// Replaces invalid UTF-8 sequences with U+FFFD and drops NUL bytes.
std::string sanitize_utf8(std::string_view bytes);

// Whole file, gunzipped if it is gzip (or dictzip) compressed. Throws DataError naming the file.
std::string read_file(const std::filesystem::path& path);

// fortune(6) files: entries separated by lines holding only "%".
std::vector<std::string> parse_fortunes(const std::string& text);

// dictd databases: `index` lines "headword<TAB>offset<TAB>length" (dictd base64), into `dict`.
// One document per distinct entry, dictd's own "00-database-*" entries skipped.
std::vector<std::string> parse_dictd(const std::string& dict, const std::string& index, const std::string& index_name);
uint64_t dictd_base64(std::string_view digits);  // throws std::invalid_argument on a bad digit

// GCIDE markup stripped: pronunciation \Al"lo*cate\ -> Allocate, {cross refs} -> text, source tags
// such as [1913 Webster] and [WordNet 1.5] removed, indentation trimmed.
std::string strip_gcide(const std::string& entry);
// FOLDOC: {term} -> term, {text (url)} -> text.
std::string strip_foldoc(const std::string& entry);

// Blank-line separated paragraphs, each trimmed; empty ones dropped.
std::vector<std::string> split_paragraphs(const std::string& text);

// JSON lines: the "text" field of every line. Throws DataError naming file and line.
std::vector<std::string> parse_jsonl(const std::string& text, const std::string& name);

// The files a source reads, in a fixed order (their bytes key the caches).
struct SourceSpec {
  std::string kind = "debian-mix";  // debian-mix | text-folder | jsonl
  std::filesystem::path path;       // debian-mix: filesystem root ("/"); text-folder: folder; jsonl: file or folder
  bool per_paragraph = false;       // text-folder: one document per paragraph instead of per file
};
std::vector<std::filesystem::path> source_files(const SourceSpec& spec);
Corpus read_source(const SourceSpec& spec);

}  // namespace dipaco::engine
