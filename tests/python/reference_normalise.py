"""Reference normalisations for tests/concordance.rs, from pydeseq2 and rnanorm.

Usage: python reference_normalise.py OUT_DIR [COUNTS.tsv]
Without COUNTS, uses rnanorm's bundled real matrix (GTEx lung, 30 samples, chr21 genes) and writes
it to OUT_DIR/counts.tsv (genes x samples) with its GENCODE v26 chr21 GTF path in OUT_DIR/gtf.txt.
Writes OUT_DIR/<method>.tsv (genes x samples) and OUT_DIR/factors.tsv (per sample).
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pydeseq2.preprocessing import deseq2_norm
from rnanorm import CPM, FPKM, TMM, TPM, UQ
from rnanorm.datasets import load_gtex

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
gtf = None
if len(sys.argv) > 2:
    counts = pd.read_csv(sys.argv[2], sep="\t", index_col=0)
    counts.index = counts.index.astype(str)  # gene ids stay strings (Entrez ids look numeric)
    counts = counts.T  # samples x genes
else:
    gtex = load_gtex()
    counts = gtex.exp
    gtf = Path(gtex.gtf_path) if hasattr(gtex, "gtf_path") else None
    if gtf is None:
        import rnanorm.datasets as d
        gtf = Path(d.FILES_DIR) / "gencode.v26.annotation.chr21.gtf.gz"
    counts.T.to_csv(out / "counts.tsv", sep="\t", index_label="feature_id")
    (out / "gtf.txt").write_text(str(gtf))
counts = counts.astype(float)

def save(name, frame):
    frame.T.to_csv(out / f"{name}.tsv", sep="\t", index_label="feature_id", float_format="%.17g")

normed, size_factors = deseq2_norm(counts)
save("deseq2", normed)
save("cpm", CPM().set_output(transform="pandas").fit_transform(counts))
save("tmm", TMM().set_output(transform="pandas").fit_transform(counts))
save("uq", UQ().set_output(transform="pandas").fit_transform(counts))
factors = pd.DataFrame(
    {
        "library_size": counts.sum(axis=1),
        "size_factor": np.asarray(size_factors).ravel(),
        "tmm_factor": np.asarray(TMM().fit(counts).get_norm_factors(counts)).ravel(),
        "uq_factor": np.asarray(UQ().fit(counts).get_norm_factors(counts)).ravel(),
    },
    index=counts.index,
)
factors.to_csv(out / "factors.tsv", sep="\t", index_label="sample_id", float_format="%.17g")
if gtf is not None:
    save("tpm", TPM(gtf=str(gtf)).set_output(transform="pandas").fit_transform(counts))
    save("fpkm", FPKM(gtf=str(gtf)).set_output(transform="pandas").fit_transform(counts))
print(f"reference normalisations of {counts.shape[0]} samples x {counts.shape[1]} genes in {out}")

# DESeq2 VST as pydeseq2 computes it (blind: intercept-only design; parametric trend).
from pydeseq2.dds import DeseqDataSet

metadata = pd.DataFrame({"group": ["a"] * counts.shape[0]}, index=counts.index)
dds = DeseqDataSet(counts=counts.round().astype(int), metadata=metadata, design="~1", quiet=True)
dds.vst(use_design=False, fit_type="parametric")
save("vst", pd.DataFrame(dds.layers["vst_counts"], index=counts.index, columns=counts.columns))
print("vst trend", dict(dds.uns.get("vst_trend_coeffs", {})), "fit type", dds.vst_fit_type)
