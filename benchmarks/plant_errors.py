"""Planted label errors for ``benchmarks/label_issues.py``: a copy of a catalog with a share of its
articleType labels flipped to a *sibling* class (another kept articleType of the same subCategory:
Tshirts <-> Tops <-> Shirts <-> Kurtas, Casual <-> Sports <-> Formal Shoes <-> Heels, Handbags <->
Backpacks ...), the confusable kind, which also leaves the hierarchy intact.

Two copies, the same products flipped in both:

* ``a/`` kind (a): only the label changes; the name keeps the true word;
* ``b/`` kind (b): the label and the name's article word (as when a product was entered wrong):
  the true class's key word in the name is replaced by the new class's (the key word of a class:
  of the words in at least 20 % of its names, the one most specific to it, e.g. "Tshirt", "Heels",
  "Casual"); a name without such a word gets the new class's key word appended.

Each copy is a folder with the rewritten ``styles.csv``, the source's ``fashion-review.toml`` and
a symbolic link to the source's ``images/``; the source is never written.  Rows that hold a quote
character are not flipped (they are written back unchanged).

    python benchmarks/plant_errors.py --data DIR --out DIR [--rate 0.05] [--seed 0]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fashion_review.review.text_signal import TOKEN_PATTERN  # noqa: E402

AT_COLUMN = 4  # id, gender, masterCategory, subCategory, articleType, ...
KEY_MIN_SHARE = 0.2


def siblings(eff: pd.DataFrame, kept: list[str]) -> dict[str, list[str]]:
    """Kept articleType -> the other kept articleTypes of its (majority) subCategory."""
    from fashion_review.review.hierarchy import majority_mapping

    m = majority_mapping(eff[eff["articleType"].isin(kept)], "articleType", "subCategory")
    by_sub: dict[str, list[str]] = {}
    for c, row in m.iterrows():
        by_sub.setdefault(row["majority"], []).append(c)
    return {c: sorted(x for x in by_sub[m.at[c, "majority"]] if x != c) for c in m.index}


def _tokens(name: str) -> list[str]:
    return re.findall(TOKEN_PATTERN, name)


def key_words(eff: pd.DataFrame) -> dict[str, tuple[str, str, dict[str, float]]]:
    """Class -> (key token, its usual spelling, precision of the class's article words).

    A class's article words are the tokens in at least 5 % of its names (brands and model names
    are rarer); the key is the one most specific to the class among those in 20 % of them.
    """
    names = eff["productDisplayName"].astype(str).tolist()
    labels = eff["articleType"].astype(str).tolist()
    per_class: dict[str, Counter] = {}
    overall: Counter = Counter()
    spelling: dict[str, Counter] = {}
    n_class = Counter(labels)
    for name, lab in zip(names, labels):
        toks = _tokens(name)
        seen = {t.lower() for t in toks}
        per_class.setdefault(lab, Counter()).update(seen)
        overall.update(seen)
        for t in toks:
            spelling.setdefault(t.lower(), Counter())[t] += 1
    out = {}
    for c, counts in per_class.items():
        precision = {t: k / overall[t] for t, k in counts.items() if k >= 0.05 * n_class[c]}
        common = [t for t, k in counts.items() if k >= KEY_MIN_SHARE * n_class[c]]
        if not common:
            continue
        key = max(common, key=lambda t: (precision[t], counts[t]))
        out[c] = (key, spelling[key].most_common(1)[0][0], precision)
    return out


def _stem(word: str) -> str:
    w = word.lower()
    return w[:-1] if w.endswith("s") and len(w) > 3 else w


def rename(name: str, true: str, new: str, keys: dict) -> tuple[str, str]:
    """The name with ``true``'s article word replaced by ``new``'s; (new name, "replaced"/"appended").

    The article word of ``true`` in the name: its key word, else a word of the class's own name
    ("Shoes" of Casual Shoes, "Shoe" too); the replacement is ``new``'s key word followed by the
    words of ``new``'s name the rest of the name lacks ("Heels" -> "Formal Shoes").
    """
    if new not in keys:
        return name, "unchanged"
    toks = _tokens(name)
    old = None
    if true in keys:
        key = keys[true][0]
        own = {_stem(w) for w in true.split()}
        old = next((t for t in toks if t.lower() == key), None) or next((t for t in toks if _stem(t) in own), None)
    rest = list(toks)
    if old is not None:
        rest.remove(old)
    have = {_stem(t) for t in rest}
    new_word = keys[new][1]
    phrase = " ".join([new_word] + [w for w in new.split()[1:] if _stem(w) not in have | {_stem(new_word)}
                                    and w.lower() != "and"])
    if old is None:
        return f"{name} {phrase}", "appended"
    return re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", phrase, name, count=1), "replaced"


def plant(data: Path, out: Path, *, rate: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Write ``out/a`` and ``out/b`` (see the module docstring); returns the flips (also ``out/flips.csv``)."""
    from fashion_review.data import load_catalog
    from fashion_review.data.schemes import DEFAULT_MIN_IMAGES, class_filter, scheme_labels

    cat = load_catalog(data)
    df = cat.df
    min_images = int(cat.settings.get("min_images", DEFAULT_MIN_IMAGES))
    labels = scheme_labels(df, "articleType")
    kept = class_filter(labels, df["has_image"], "articleType", min_images).kept
    usable = df["has_image"].to_numpy() & labels.isin(kept).to_numpy()
    sib = siblings(df[usable], kept)
    lines = cat.csv_path.read_text(encoding="utf-8-sig").splitlines()
    quoted = np.array(['"' in lines[int(n) - 1] for n in df["line"]], dtype=bool)
    eligible = usable & ~quoted & df["articleType"].map(lambda c: bool(sib.get(c))).to_numpy(dtype=bool)
    n_flips = int(round(rate * usable.sum()))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(np.flatnonzero(eligible), size=min(n_flips, int(eligible.sum())), replace=False))
    keys = key_words(df[usable])
    rows = []
    for pos in chosen:
        pid = int(df.index[pos])
        true = df.at[pid, "articleType"]
        new = sib[true][int(rng.integers(0, len(sib[true])))]
        name_b, how = rename(df.at[pid, "productDisplayName"], true, new, keys)
        rows.append({"id": pid, "line": int(df.at[pid, "line"]), "true": true, "new": new,
                     "subCategory": df.at[pid, "subCategory"], "name": df.at[pid, "productDisplayName"],
                     "name_b": name_b, "name_change": how})
    flips = pd.DataFrame(rows).set_index("id")
    for kind in ("a", "b"):
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        new_lines = list(lines)
        for pid, f in flips.iterrows():
            fields = new_lines[f["line"] - 1].split(",", 9)
            fields[AT_COLUMN] = f["new"]
            if kind == "b":
                fields[9] = f["name_b"]
            new_lines[f["line"] - 1] = ",".join(fields)
        (folder / "styles.csv").write_text("\n".join(new_lines) + "\n", encoding="utf-8")
        toml = Path(data) / "fashion-review.toml"
        if toml.exists():
            shutil.copyfile(toml, folder / "fashion-review.toml")
        link = folder / "images"
        if not link.exists():
            link.symlink_to(Path(cat.images_dir).resolve(), target_is_directory=True)
    flips.to_csv(out / "flips.csv")
    (out / "plant.txt").write_text(
        f"source {data}\nflips {len(flips)} of {int(usable.sum())} usable articleType products "
        f"({100 * len(flips) / max(1, usable.sum()):.2f} %), rate {rate}, seed {seed}, min_images {min_images}\n"
        f"names (kind b): {dict(Counter(flips['name_change']))}\n", encoding="utf-8")
    return flips


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    flips = plant(Path(args.data), Path(args.out), rate=args.rate, seed=args.seed)
    print((Path(args.out) / "plant.txt").read_text(encoding="utf-8"), end="")
    print(flips.groupby(["true", "new"]).size().sort_values(ascending=False).head(15).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
