#include "engine/data/corpus.hpp"

#include <random>
#include <string>

namespace dipaco::engine {

namespace {

using Rng = std::mt19937_64;

int uniform(Rng& rng, int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1)); }

template <size_t N>
const char* pick(Rng& rng, const char* const (&words)[N]) {
  return words[rng() % N];
}

// Each generator appends one "line" of its domain. They differ in alphabet, structure and
// statistics, so a model's hidden states (and later k-means) separate them easily.
void arithmetic_line(Rng& rng, std::string& out) {
  const int a = uniform(rng, 0, 99), b = uniform(rng, 0, 99);
  switch (rng() % 3) {
    case 0: out += std::to_string(a) + " + " + std::to_string(b) + " = " + std::to_string(a + b) + "\n"; break;
    case 1: out += std::to_string(a) + " * " + std::to_string(b % 10) + " = " + std::to_string(a * (b % 10)) + "\n"; break;
    default: out += std::to_string(a + b) + " - " + std::to_string(b) + " = " + std::to_string(a) + "\n"; break;
  }
}

void prose_line(Rng& rng, std::string& out) {
  static const char* const subjects[] = {"the old sailor", "a quiet child", "the farmer", "my neighbour",
                                         "the young queen", "a tired soldier", "the baker", "her brother"};
  static const char* const verbs[] = {"walked to", "looked at", "dreamed of", "spoke about",
                                      "carried", "remembered", "painted", "found"};
  static const char* const objects[] = {"the river", "a small house", "the distant hills", "an empty road",
                                        "the winter sea", "a golden field", "the village church", "the forest"};
  static const char* const tails[] = {" in the morning", " before the storm", " with great care", "",
                                      " for a long time", " once again"};
  std::string s = std::string(pick(rng, subjects)) + " " + pick(rng, verbs) + " " + pick(rng, objects) + pick(rng, tails) + ". ";
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  out += s;
  if (rng() % 5 == 0) out += "\n";
}

void code_line(Rng& rng, std::string& out) {
  static const char* const names[] = {"count", "index", "total", "buffer", "node", "value", "size", "offset"};
  static const char* const ops[] = {" + ", " - ", " * ", " << ", " & "};
  switch (rng() % 4) {
    case 0: out += std::string("    ") + pick(rng, names) + " = " + pick(rng, names) + pick(rng, ops) + std::to_string(uniform(rng, 1, 64)) + ";\n"; break;
    case 1: out += std::string("    if (") + pick(rng, names) + " > " + pick(rng, names) + ") {\n        return " + pick(rng, names) + ";\n    }\n"; break;
    case 2: out += std::string("    for (int i = 0; i < ") + pick(rng, names) + "; ++i) " + pick(rng, names) + "[i] = 0;\n"; break;
    default: out += std::string("int ") + pick(rng, names) + "_" + std::to_string(uniform(rng, 0, 9)) + "(int " + pick(rng, names) + ") {\n"; break;
  }
}

void dna_line(Rng& rng, std::string& out) {
  // Codon-like triples with a strong bias, and a recurring motif.
  static const char* const codons[] = {"ATG", "GCT", "GCA", "TTA", "CGG", "AAT", "TGA", "CCC"};
  for (int i = 0; i < 16; ++i) out += (rng() % 7 == 0) ? "GATTACA" : pick(rng, codons);
  out += "\n";
}

void table_line(Rng& rng, std::string& out) {
  static const char* const cities[] = {"Lyon", "Oslo", "Lima", "Pune", "Kyiv", "Nara", "Cork", "Fez"};
  out += std::to_string(uniform(rng, 1000, 9999)) + "," + pick(rng, cities) + "," + std::to_string(uniform(rng, 0, 40)) +
         "." + std::to_string(uniform(rng, 0, 9)) + "," + (rng() % 2 ? "yes" : "no") + "\n";
}

using LineGenerator = void (*)(Rng&, std::string&);
constexpr LineGenerator kGenerators[] = {arithmetic_line, prose_line, code_line, dna_line, table_line};

}  // namespace

const std::vector<std::string>& synthetic_domain_names() {
  static const std::vector<std::string> names{"arithmetic", "prose", "code", "dna", "table"};
  return names;
}

std::vector<Document> synthetic_corpus(uint64_t seed, int count, int doc_bytes) {
  const int domains = static_cast<int>(synthetic_domain_names().size());
  std::vector<Document> docs;
  docs.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    Rng rng(mix_seed(seed, static_cast<uint64_t>(i)));
    Document d;
    d.domain = i % domains;
    // Lengths vary by up to ±50 % around doc_bytes.
    const size_t target = static_cast<size_t>(doc_bytes / 2 + static_cast<int>(rng() % static_cast<uint64_t>(doc_bytes + 1)));
    while (d.text.size() < target) kGenerators[d.domain](rng, d.text);
    docs.push_back(std::move(d));
  }
  return docs;
}

TokenStream TokenStream::from_vector(const std::vector<uint32_t>& tokens, int bytes_per_token) {
  TokenStream t;
  t.bytes_per_token = bytes_per_token;
  t.size = static_cast<int64_t>(tokens.size());
  if (bytes_per_token == 2) {
    auto v = std::make_shared<std::vector<uint16_t>>(tokens.begin(), tokens.end());
    t.data = v->data();
    t.owner = v;
  } else {
    auto v = std::make_shared<std::vector<uint32_t>>(tokens);
    t.data = v->data();
    t.owner = v;
  }
  return t;
}

void SequenceSet::copy_sequence(int64_t i, int64_t* out) const {
  const int64_t start = i * seq_len;
  for (int64_t t = 0; t <= seq_len; ++t) out[t] = stream[start + t];
}

std::vector<uint32_t> SequenceSet::routing_prefix(int64_t i) const {
  std::vector<uint32_t> out(static_cast<size_t>(prefix_tokens));
  for (int t = 0; t < prefix_tokens; ++t) out[static_cast<size_t>(t)] = stream[i * seq_len + t];
  return out;
}

}  // namespace dipaco::engine
