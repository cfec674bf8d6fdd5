// One parser test per source, on small fixture files written here (not copies of the packages).
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "engine/data/text_sources.hpp"

using namespace dipaco::engine;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("dipaco-sources-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

void write_gzip(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

std::string b64(uint64_t v) {  // dictd's base64 digits
  static const std::string a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  do {
    out.insert(out.begin(), a[v % 64]);
    v /= 64;
  } while (v);
  return out;
}

// A dictd database of the given entries, with a header entry and two headwords for the first.
void write_dictd(const fs::path& dir, const std::string& name, const std::vector<std::string>& entries) {
  std::string dict = "00-database-info\nThis is a header.\n", index = "00-database-info\tA\t" + b64(dict.size()) + "\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    index += "word" + std::to_string(i) + "\t" + b64(dict.size()) + "\t" + b64(entries[i].size()) + "\n";
    if (i == 0) index += "alias0\t" + b64(dict.size()) + "\t" + b64(entries[i].size()) + "\n";
    dict += entries[i];
  }
  write_gzip(dir / (name + ".dict.dz"), dict);
  write(dir / (name + ".index"), index);
}

}  // namespace

TEST(Utf8, InvalidBytesAreReplacedAndValidTextKept) {
  EXPECT_EQ(sanitize_utf8("héllo wörld 日本 🙂"), "héllo wörld 日本 🙂");
  EXPECT_EQ(sanitize_utf8(std::string("a\xff" "b")), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitize_utf8(std::string("\xC0\xAF")), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(sanitize_utf8(std::string("x\xE2\x82")), "x\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated euro sign
  EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3)), "ab");
}

TEST(Fortunes, EntriesSplitOnPercentLines) {
  const auto e = parse_fortunes("First one.\n%\nSecond\n  two lines.\n%\n\n%\nLast\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "First one.");
  EXPECT_EQ(e[1], "Second\n  two lines.");
  EXPECT_EQ(e[2], "Last");
}

TEST(Dictd, IndexOffsetsSelectEntriesOnce) {
  EXPECT_EQ(dictd_base64("A"), 0u);
  EXPECT_EQ(dictd_base64("BA"), 64u);
  EXPECT_THROW(dictd_base64("*"), std::invalid_argument);
  const auto dir = fresh_dir("dictd");
  write_dictd(dir, "demo", {"alpha entry\n", "beta entry\n"});
  const auto docs = parse_dictd(read_file(dir / "demo.dict.dz"), read_file(dir / "demo.index"), "demo.index");
  ASSERT_EQ(docs.size(), 2u);  // header skipped, alias deduplicated
  EXPECT_EQ(docs[0], "alpha entry\n");
  EXPECT_EQ(docs[1], "beta entry\n");
  EXPECT_THROW(parse_dictd("short", "w\tA\tZZ\n", "bad.index"), DataError);
  EXPECT_THROW(parse_dictd("short", "no tabs here\n", "bad.index"), DataError);
}

TEST(Gcide, MarkupIsStripped) {
  const std::string entry =
      "Allocate \\Al\"lo*cate\\, v. t. [LL. allocatus, p. p. of allocare.]\n"
      "   1. To distribute or assign; to allot. See {Allow}. [Obs.]\n"
      "      [1913 Webster]\n";
  EXPECT_EQ(strip_gcide(entry),
            "Allocate Allocate, v. t. [LL. allocatus, p. p. of allocare.]\n"
            "1. To distribute or assign; to allot. See Allow. [Obs.]");
}

TEST(Foldoc, CrossReferencesBecomeText) {
  EXPECT_EQ(strip_foldoc("awk\n\n   A {Unix} tool, see {the manual (http://x.org/awk)}.\n"),
            "awk\n\nA Unix tool, see the manual.");
}

TEST(DebianMix, ReadsEveryDomainFromAFixtureTree) {
  const auto root = fresh_dir("debian-root");
  write(root / "usr/share/games/fortunes/science", "E = mc^2\n%\nGravity: not just a good idea.\n");
  write(root / "usr/share/games/fortunes/science.dat", "binary index, skipped");
  write(root / "usr/share/games/fortunes/zippy", "Are we having fun yet?\n");
  write_dictd(root / "usr/share/dictd", "foldoc", {"ALGOL\n  A {language}.\n"});
  write_dictd(root / "usr/share/dictd", "gcide", {"Cat \\Cat\\, n. A small animal. [1913 Webster]\n"});
  write_dictd(root / "usr/share/dictd", "jargon", {"hack\n  n. Quick work.\n"});
  write(root / "usr/share/common-licenses/GPL-3", "GNU GENERAL PUBLIC LICENSE\n\nPreamble text.\n");
  const auto c = read_source({"debian-mix", root, false});
  EXPECT_EQ(c.domains, (std::vector<std::string>{"fortunes", "dict-foldoc", "dict-gcide", "dict-jargon", "licenses"}));
  ASSERT_EQ(c.docs.size(), 3u + 1 + 1 + 1 + 2);
  EXPECT_EQ(c.docs[0].text, "E = mc^2");
  EXPECT_EQ(c.docs[3].text, "ALGOL\nA language.");
  EXPECT_EQ(c.docs[3].domain, 1);
  EXPECT_EQ(c.docs[4].text, "Cat Cat, n. A small animal.");
  EXPECT_EQ(c.docs[6].text, "GNU GENERAL PUBLIC LICENSE");

  fs::remove(root / "usr/share/dictd/gcide.index");
  try {
    source_files({"debian-mix", root, false});
    FAIL() << "a missing file must be an error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install dict-gcide"), std::string::npos) << e.what();
  }
}

TEST(TextFolder, OneDocumentPerFileOrPerParagraph) {
  const auto dir = fresh_dir("txt");
  write(dir / "a.txt", "Para one\nstill one.\n\nPara two.\n");
  write(dir / "b.txt", std::string("Bad byte \xff here.\n"));
  write(dir / "ignored.md", "not text");
  const auto files = read_source({"text-folder", dir, false});
  ASSERT_EQ(files.docs.size(), 2u);
  EXPECT_EQ(files.docs[1].text, "Bad byte \xEF\xBF\xBD here.\n");
  const auto paras = read_source({"text-folder", dir, true});
  ASSERT_EQ(paras.docs.size(), 3u);
  EXPECT_EQ(paras.docs[0].text, "Para one\nstill one.");
  EXPECT_THROW(read_source({"text-folder", dir / "missing", false}), DataError);
  EXPECT_THROW(read_source({"text-folder", fresh_dir("empty-txt"), false}), DataError);
}

TEST(JsonLines, PlainAndGzipWithTextField) {
  const auto dir = fresh_dir("jsonl");
  write(dir / "a.jsonl", "{\"text\": \"first\", \"url\": \"x\"}\n\n{\"text\": \"caf\\u00e9\"}\n");
  write_gzip(dir / "b.jsonl.gz", "{\"text\": \"zipped\"}\n");
  const auto c = read_source({"jsonl", dir, false});
  ASSERT_EQ(c.docs.size(), 3u);
  EXPECT_EQ(c.docs[1].text, "café");
  EXPECT_EQ(c.docs[2].text, "zipped");
  EXPECT_THROW(parse_jsonl("{\"url\": 1}\n", "x.jsonl"), DataError);
  try {
    parse_jsonl("{\"text\": \"ok\"}\n{broken\n", "y.jsonl");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("y.jsonl:2"), std::string::npos) << e.what();
  }
}
