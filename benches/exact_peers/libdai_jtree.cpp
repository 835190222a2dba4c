// A small driver around libDAI's junction tree (dai::JTree, HUGIN updates, sum-product):
//   libdai_jtree pr|mar MODEL.uai [EVIDENCE.uai.evid]
// pr prints log10 Z (with the evidence: log10 of its probability); mar prints the
// single-variable marginals in the UAI MAR format. Evidence is the UAI 2014 format
// (`N v1 x1 .. vN xN`, one case). Built by build.sh beside it.
#include <dai/alldai.h>
#include <dai/io.h>
#include <dai/jtree.h>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

using namespace dai;

static std::map<size_t, size_t> read_evidence(const char *path) {
    std::map<size_t, size_t> evidence;
    std::ifstream in(path);
    if (!in) {
        std::cerr << "cannot read evidence file " << path << "\n";
        std::exit(2);
    }
    size_t n = 0;
    if (!(in >> n)) return evidence;
    for (size_t i = 0; i < n; i++) {
        size_t v, x;
        in >> v >> x;
        evidence[v] = x;
    }
    return evidence;
}

int main(int argc, char **argv) {
    if (argc < 3 || (std::string(argv[1]) != "pr" && std::string(argv[1]) != "mar")) {
        std::cerr << "usage: libdai_jtree pr|mar MODEL.uai [EVIDENCE]\n";
        return 2;
    }
    const bool mar = std::string(argv[1]) == "mar";
    std::vector<Var> vars;
    std::vector<Factor> factors;
    std::vector<Permute> permutations;
    ReadUaiAieFactorGraphFile(argv[2], 0, vars, factors, permutations);
    std::map<size_t, size_t> evidence;
    if (argc > 3) evidence = read_evidence(argv[3]);
    // Clamp: slice every factor on the observed variables; constants go into one factor.
    Real log_correction = 0.0;
    std::vector<Factor> kept;
    for (Factor f : factors) {
        for (const auto &e : evidence)
            if (f.vars() >> vars[e.first]) f = f.slice(vars[e.first], e.second);
        if (f.vars().size() == 0)
            log_correction += std::log(f[0]);
        else
            kept.push_back(f);
    }
    for (const auto &e : evidence) kept.push_back(createFactorDelta(vars[e.first], e.second));
    FactorGraph fg(kept.begin(), kept.end(), vars.begin(), vars.end(), kept.size(), vars.size());
    PropertySet opts;
    opts.set("updates", std::string("HUGIN"));
    opts.set("inference", std::string("SUMPROD"));
    opts.set("verbose", (size_t)0);
    JTree jt(fg, opts);
    jt.init();
    jt.run();
    if (!mar) {
        std::printf("PR\n%.10f\n", (jt.logZ() + log_correction) / std::log(10.0));
        return 0;
    }
    std::printf("MAR\n%zu", vars.size());
    for (size_t i = 0; i < vars.size(); i++) {
        Factor b = jt.belief(vars[i]);
        std::printf(" %zu", b.nrStates());
        for (size_t x = 0; x < b.nrStates(); x++) std::printf(" %.6g", b[x]);
    }
    std::printf("\n");
    return 0;
}
