"""biom-format's own reading and collapsing of a BIOM table, the reference for harmonomics'
BIOM importers: writes the table by observation (OUT/observations.tsv) and summed to genus by its
taxonomy metadata (OUT/genus.tsv, biom's Table.collapse with norm=False, ranks written as
`d__`-prefixed and `;`-joined as harmonomics names them).
Usage: python reference_biom.py TABLE.biom OUTDIR"""
import os
import sys

from biom import load_table

source, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
table = load_table(source)
samples = list(table.ids(axis="sample"))


def write(t, path):
    with open(path, "w") as fh:
        fh.write("\t".join(["feature"] + samples) + "\n")
        for values, fid, _ in t.iter(axis="observation", dense=True):
            order = [list(t.ids(axis="sample")).index(s) for s in samples]
            fh.write("\t".join([fid] + ["%.17g" % values[k] for k in order]) + "\n")


def genus(_id, metadata):
    ranks = [r.strip() for r in metadata["taxonomy"]][:6]
    ranks[0] = "d__" + ranks[0][3:] if ranks[0][:3] in ("k__", "d__") else ranks[0]
    return ";".join(ranks)


write(table, os.path.join(out, "observations.tsv"))
write(table.collapse(genus, axis="observation", norm=False), os.path.join(out, "genus.tsv"))
