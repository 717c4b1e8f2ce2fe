"""scikit-bio, the second reference of the microbiome layer's statistics: multiplicative
replacement and CLR (`skbio.stats.composition`), Shannon, Simpson and Chao1
(`skbio.diversity.alpha`) on a samples x taxa count table written by reference_vegan.R.

Usage: python reference_skbio.py COUNTS.tsv OUTDIR  writes OUTDIR/{skbio_alpha,skbio_clr_replaced}.tsv
"""
import sys

import numpy as np
import pandas as pd
import skbio
from skbio.diversity.alpha import chao1, shannon, simpson
from skbio.stats.composition import clr, multi_replace

counts = pd.read_csv(sys.argv[1], sep="\t", index_col=0)
out = sys.argv[2]
x = counts.to_numpy(dtype=float)
alpha = pd.DataFrame(
    {
        "shannon": [shannon(row) for row in x],
        "simpson": [simpson(row) for row in x],
        "chao1": [chao1(row.astype(int), bias_corrected=True) for row in x],
    },
    index=counts.index,
)
alpha.to_csv(f"{out}/skbio_alpha.tsv", sep="\t", float_format="%.17g", index_label="sample")
replaced = pd.DataFrame(clr(multi_replace(x)), index=counts.index, columns=counts.columns)
replaced.to_csv(f"{out}/skbio_clr_replaced.tsv", sep="\t", float_format="%.17g", index_label="sample")
print(f"scikit-bio {skbio.__version__}: {x.shape[0]} samples x {x.shape[1]} taxa", file=sys.stderr)
