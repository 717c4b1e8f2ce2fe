"""Independent computation of the metabolome chain on a real feature table (ms-mint 1.1.2's demo
results, shipped in its PyPI sdist): numpy/pandas for zeros, imputation, PQN and log2,
statsmodels' lowess for the QC-based drift correction, scikit-learn's KNNImputer for KNN.

Usage: python reference_metabolome.py RESULTS.csv METADATA.csv OUT_DIR
Writes OUT_DIR/table.csv (wide: feature × injection), OUT_DIR/injections.csv,
OUT_DIR/expected.csv (the processed study samples, feature × sample), and OUT_DIR/table_knn.csv
with OUT_DIR/expected_knn.csv for the KNN imputation.
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.nonparametric.smoothers_lowess import lowess

results, metadata, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
long = pd.read_csv(results)
meta = pd.read_csv(metadata).sort_values("run_order")
wide = long.pivot(index="peak_label", columns="ms_file_label", values="peak_area")[meta.ms_file_label]
wide.index.name = "name"
wide.to_csv(out / "table.csv")
# ms-mint's demo has no pooled QC: the odd runs stand in for QCs so that the drift arithmetic
# (LOESS on injection order, divide, rescale by the QC median) runs on real intensities.
kind = np.where(meta.run_order % 2 == 1, "qc", "sample")
injections = pd.DataFrame({"column": meta.ms_file_label, "injection_order": meta.run_order,
                           "batch": 1, "sample_type": kind})
injections.to_csv(out / "injections.csv", index=False)

x = wide.to_numpy(dtype=float)
x[x == 0] = np.nan
order = meta.run_order.to_numpy(dtype=float)
qc = kind == "qc"
corrected = np.full_like(x, np.nan)
for i in range(x.shape[0]):
    row = x[i]
    ok = qc & ~np.isnan(row)
    fit = lowess(row[ok], order[ok], frac=0.75, it=3, xvals=order)
    target = np.median(row[ok])
    # A fit at or below zero cannot scale an intensity: the value becomes missing.
    fit = np.where(fit > 0, fit, np.nan)
    corrected[i] = row / fit * target
# half-minimum imputation per feature, over the non-blank injections (this table has no blanks)
for i in range(corrected.shape[0]):
    row = corrected[i]
    row[np.isnan(row)] = np.nanmin(row) / 2
# PQN: reference = median of the QCs
reference = np.median(corrected[:, qc], axis=1)
factors = np.median(corrected / reference[:, None], axis=0)
pqn = corrected / factors[None, :]
result = np.log2(pqn)
expected = pd.DataFrame(result[:, ~qc], index=wide.index, columns=meta.ms_file_label[~qc])
expected.to_csv(out / "expected.csv")

# KNN imputation (scikit-learn's KNNImputer) on the raw table with ~30% of the study values
# removed at fixed places: injections are the samples, metabolites the features.
from sklearn.impute import KNNImputer

holes = wide.copy().astype(float)
rng = np.random.default_rng(2026)
mask = rng.random(holes.shape) < 0.3
mask[:, kind == "qc"] = False
holes = holes.mask(mask, 0.0)
holes.to_csv(out / "table_knn.csv")
x = holes.to_numpy(dtype=float).T  # injections × metabolites
x[x == 0] = np.nan
imputed = KNNImputer(n_neighbors=3).fit_transform(x).T
pd.DataFrame(imputed[:, ~qc], index=wide.index, columns=meta.ms_file_label[~qc]).to_csv(out / "expected_knn.csv")
