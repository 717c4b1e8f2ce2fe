"""tximport reference (pytximport) for tests/concordance.rs.

Usage: python reference_tximport.py TOOL TX2GENE.tsv OUT.tsv COUNTS_FROM_ABUNDANCE FILE...
Writes gene, then `counts_<i>`, `length_<i>`, `abundance_<i>` per input file.
"""
import sys

import pandas as pd
from pytximport import tximport

tool, tx2gene, out, cfa, *files = sys.argv[1:]
mapping = pd.read_csv(tx2gene, sep="\t")
ds = tximport(
    files,
    data_type=tool,
    transcript_gene_map=mapping,
    counts_from_abundance=None if cfa == "no" else cfa,
    output_type="xarray",
)
frame = pd.DataFrame(index=[str(g) for g in ds["gene_id"].values])
for i in range(len(files)):
    for var in ("counts", "length", "abundance"):
        frame[f"{var}_{i}"] = ds[var].values[:, i]
frame.sort_index().to_csv(out, sep="\t", index_label="gene", float_format="%.17g")
