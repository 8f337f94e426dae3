"""The refinement report: original vs leaner text per genre, for the paper's data and for this pipeline's own output.

Four versions of the same split (default: the embedded 10M validation sample):
  ori            the paper's original documents
  paper-leaner   the paper's released leaner rewrites (GPT-4)
  replay         this pipeline run with the paper-replay backend (the paper's rewrites, sliced per chunk,
                 then validated, post-processed, measured and deduplicated here)
  local-server   this pipeline run through the real `openai` client against a local server whose answers come
                 from `toy_responder`, a rule-based stand-in (no instruct model is reachable here): it shows
                 what the pipeline's own steps do, not what an LLM would write.
Columns: docs, words, word types, core-2K coverage (share of word tokens among the 2,000 most frequent English
words), mean sentence length in words, placeholder density (masks per word). Also writes a figure.

    .venv/bin/python bench/refine_report.py --out bench/results/refine_report
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

from tinyhelen.core import atomic_write, markdown_table
from tinyhelen.data import load_corpus
from tinyhelen.llm import LocalChatServer
from tinyhelen.leaner_eval import read_items
from tinyhelen.refine import RefineConfig, corpus_stats, refine, toy_responder


def by_genre(ds) -> dict[str, list[str]]:
    out = {}
    for g, t in zip(ds["genre"], ds["text"]):
        out.setdefault(g, []).append(t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genres", default="web,book,wiki,textbook,conversation")
    ap.add_argument("--split", default="validation")
    ap.add_argument("--out", default="bench/results/refine_report", help="writes OUT.md and OUT.png")
    ap.add_argument("--workdir", help="keep the pipeline runs here (default: a temp folder)")
    a = ap.parse_args()
    genres = a.genres.split(",")
    work = Path(a.workdir or tempfile.mkdtemp())
    versions = {"ori": by_genre(load_corpus("ori", genres, split=a.split)),
                "paper-leaner": by_genre(load_corpus("leaner", genres, split=a.split))}
    reports, timings = {}, {}
    t = time.perf_counter()
    reports["replay"] = refine(RefineConfig(backend="paper-replay", model="paper", genres=a.genres, split=a.split,
                                            output=str(work / "replay")))
    timings["replay"] = time.perf_counter() - t
    versions["replay"] = read_items(work / "replay")
    with LocalChatServer(toy_responder) as srv:
        t = time.perf_counter()
        reports["local-server"] = refine(RefineConfig(backend="openai", model="toy-responder", base_url=srv.base_url,
                                                      genres=a.genres, split=a.split, concurrency=32,
                                                      output=str(work / "local")))
        timings["local-server"] = time.perf_counter() - t
    versions["local-server"] = read_items(work / "local")
    rows = [{"genre": g, "version": v, **corpus_stats(versions[v][g])} for g in genres for v in versions if g in versions[v]]
    md = ["# Refinement report", "", f"Split: 10M/{a.split} (embedded sample unless TINYHELEN_DATA is set). "
          "`local-server` = the real client against a local server answered by the rule-based `toy_responder` "
          "(no instruct model reachable here); `replay` = the paper's recorded rewrites through this pipeline.", "",
          markdown_table(rows), ""]
    for name, rep in reports.items():
        md += [f"## {name} run: rejects by reason", "", json.dumps(rep["rejects_by_reason"]), "",
               f"items {rep['items']}, rejects {rep['rejects']}, OOV rate {rep['oov_rate']:.1%}, placeholder density "
               f"{rep['placeholder_density']:.2%}, LLM calls {rep['llm'].get('calls')}, wall {timings[name]:.1f} s", ""]
    text = "\n".join(md)
    print(text)
    with atomic_write(Path(a.out + ".md")) as f:
        f.write(text)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(versions)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, key, title in zip(axes, ("core2k_coverage", "types", "placeholder_density"),
                              ("core-2K coverage (share of words)", "word types", "placeholder density (masks/word)")):
        for i, v in enumerate(names):
            vals = [next((r[key] for r in rows if r["genre"] == g and r["version"] == v), 0) for g in genres]
            ax.bar([j + i * 0.2 for j in range(len(genres))], vals, width=0.2, label=v)
        ax.set_xticks([j + 0.3 for j in range(len(genres))], genres, rotation=20)
        ax.set_title(title)
    axes[0].legend(fontsize=8, loc="lower right")
    axes[0].set_ylim(0.5, 1.0)
    fig.tight_layout()
    fig.savefig(a.out + ".png", dpi=110)
    print("wrote", a.out + ".md", a.out + ".png")


if __name__ == "__main__":
    main()
