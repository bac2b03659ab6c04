"""The surviving mutants of `make mutants`, each with its change and why it survives: writes
bench/MUTANTS.md from mutmut's results (run after `make mutants`, from the repository's top).

Every survivor is matched against RULES below (first match wins): a rule names a kind of change and
why no test can tell it from the original (an equivalent mutant), or why it is left (not equivalent:
counted against the score). A survivor no rule matches is listed as "unclassified" and counted
against the score too.
"""
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

MUTMUT = str(Path(sys.executable).with_name("mutmut"))

# (name pattern, changed-line pattern, equivalent?, reason)
RULES = [
    (r"", r"reshape\(-2", True, "numpy reads any negative size in reshape as 'infer this axis', as -1"),
    (r"", r'kind="STABLE"|kind=None\)|argsort\(\w+, \)', True,
     "the sorted values are distinct (labels, codes of distinct groups): every sort gives the same order"),
    (r"", r'einsum\("[A-Z,>-]+"', True, "einsum's subscripts are letters of either case"),
    (r"", r"zero_copy_only=(None|True)", True,
     "Arrow's dictionary and indices of a non-null column convert without a copy either way"),
    (r"", r"copy=(None|True)\)|astype\(np\.int64, \)", True, "a copy or not of codes that are not written to"),
    (r"", r"softplus_sigmoid\([^()]*(\([^()]*\))?[^()]*, \)|sigmoid\(Z, \)|cholesky_solve\(H, g, mu, \)|"
     r"DenseObjective\(pooled, \)|NewtonRun\(pooled, DenseObjective\(pooled, np\), \)", True,
     "the array namespace argument dropped: its default is numpy, the namespace of every run mutmut tests "
     "(CuPy's runs, on a GPU, pass it)"),
    (r"", r"errstate\(", True,
     "a guard against numpy's overflow warnings that no input reaches: softplus_sigmoid never overflows and the "
     "penalty would need |w| > 1e154; the user-visible promise (no RuntimeWarning on raw columns) is "
     "tests/solvers/test_objective.py's"),
    (r"x_pooled_start", r"learning_rate=|seeds=|init=|solver=|max\(p\.iterations, 101\)", True,
     "a field of the pooled problem that its Newton run never reads (rate, seed, init, solver name), or a cap it "
     "never reaches"),
    (r"x_group_layout", r"1 >> 16|and False else codes", True,
     "the 16-bit radix sort skipped: the plain stable sort gives the same order, more slowly"),
    (r"x_factorize", r"1 <= g.min\(\)|0 < g.min\(\)|< 4 \* g.size|4 / g.size|5 \* g.size|== \"I\"|XXiXX", True,
     "the bincount fast path taken less (or more, still exactly) often: np.unique gives the same labels and codes"),
    (r"x__labels_array", r'"to_numpy"|"TO_NUMPY"|"XXto_numpyXX"|getattr\(None|values = None|callable\(None\)', True,
     "np.asarray of a pandas Series, Categorical or Index gives the same values as its to_numpy()"),
    (r"", r"H\[:, :, D:D \+ 2\]|H\[:, D:D \+ 2, :\]", True, "a slice one past the last column is the same slice"),
    (r"x_cholesky_solve", r"j - 1 < P|j \+ 1 <= P", True, "the extra pass at the last column updates an empty slice"),
    (r"x_cholesky_solve", r"pivot >= 0, pivot|pivot > 0, pivot, 2\.0", True,
     "changes L only where the pivot is not positive, where ok is False and the solution is discarded"),
    (r"SolverRunǁadvance", r"return$", True, "nothing follows the loop: break and return are the same"),
    (r"_pointwise|GroupObjectiveǁevaluate", r'"XXfXX"|== "F"|"XXfgXX"|== "FG"|or True else None', True,
     "the early return skipped: the extra sums are computed and never read"),
    (r"_shared_chunk", r"c\.reshape\(-1, K\)", True, "(m, K) and (1, m, K) broadcast alike against (rows, m, K)"),
    (r"", r'kind in "XX\w+XX"', True, "a dtype kind is one letter: it is in \"XXiuXX\" exactly when it is in \"iu\""),
    (r"", r"reshape\(None\)", True, "the array is already 1-D: reshape(None) leaves it as reshape(-1) does"),
    (r"x_factorize|x__labels_array", r'kind == "u"', True,
     "string labels then take the other path (np.unique; astype(str) of a str array): the same labels and codes"),
    (r"x_group_layout", r"< 1 << 16|bincount\(codes, \)", True,
     "65,536 labels still fit 16 bits, the wider sort gives the same order; every label occurs, so bincount's "
     "length is the number of labels without minlength"),
    (r"x__hash_factorize|x__assemble|group_ids|x_real_array", r"np\.asarray\((uniques|codes), \)|np\.arange\([^)]*, \)|"
     r"astype\(dtype, \)", True,
     "an argument dropped whose default gives the same here: the codes and seeds are int64 already, numpy's arange "
     "is int64 on Linux, astype copies either way"),
    # Not equivalent: left, counted against the score, with why no test tells them apart yet.
    (r"x_warn_unconverged", r"", False,
     "the warning's frame (stacklevel) or a default its callers always pass: the tests check the warning's text"),
    (r"problem\.(make|checks)", r'"XX|"[A-Z_ ]{3,}[^a-z]*"|\(None, |, None\)$|ValueError\(None\)|"[a-z(][^"]*"\)?,?$', False,
     "the wording of an error, or the name it gives the argument: the tests match this message by its key words"),
    (r"", r"dtype=None|astype\(None|\(None, copy|, \)\[None\]|zeros\(B, \)|ones\(nsel.shape\[0\], \)|"
        r"(empty|ones|zeros)\(.*, \)",
     False, "a dtype dropped: numpy's float64 default, so only a float32 run changes — it computes this in float64, "
     "within the float32 tolerance the tests hold it to"),
    (r"solvers\.(start|lbfgs|base|pooled|newton)|solvers\.x_start", r"", False,
     "a change of the solver's path (its start, coordinates, curvature memory or restart, a boundary or constant of "
     "the stop test or line search): the optimum is the same, and no pinned path (tests/solvers/paths.json) reaches "
     "this case"),
]


def survivors():
    out = subprocess.run([MUTMUT, "results"], capture_output=True, text=True, check=True).stdout
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip().endswith("survived")]


def change(name):
    diff = subprocess.run([MUTMUT, "show", name], capture_output=True, text=True).stdout
    minus = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    plus = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " / ".join(minus), " / ".join(plus)


def classify(name, plus):
    for pattern, changed, equivalent, reason in RULES:
        if re.search(pattern, name) and re.search(changed, plus):
            return equivalent, reason
    return False, "unclassified: a test could tell it apart; none does yet"


def main():
    rows, kinds = [], Counter()
    for name in survivors():
        before, after = change(name)
        equivalent, reason = classify(name, after)
        kinds[equivalent] += 1
        rows.append((name.replace("fastperceptron.", ""), before, after, "equivalent" if equivalent else "left", reason))
    lines = ["# Surviving mutants of `make mutants`", "",
             f"Written by `bench/mutants_report.py` from mutmut's results: {len(rows)} survivors, "
             f"{kinds[True]} equivalent, {kinds[False]} left (counted against the score).", "",
             "| mutant | original | mutant | verdict | why |", "| --- | --- | --- | --- | --- |"]
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines += [f"| `{n}` | `{esc(b)}` | `{esc(a)}` | {v} | {esc(r)} |" for n, b, a, v, r in rows]
    Path("bench/MUTANTS.md").write_text("\n".join(lines) + "\n")
    print(f"{len(rows)} survivors: {kinds[True]} equivalent, {kinds[False]} left -> bench/MUTANTS.md")


if __name__ == "__main__":
    main()
