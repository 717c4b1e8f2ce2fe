"""inmoose's ComBat on a genes x samples TSV; batch and covariate labels in a second TSV.

Usage: python reference_combat.py METHOD DATA.tsv LABELS.tsv OUT.tsv
METHOD: parametric | nonparametric (pycombat_norm's par_prior) | seq (pycombat_seq, on counts).
LABELS: sample, batch, covariate.
"""
import sys

import pandas as pd
from inmoose.pycombat import pycombat_norm, pycombat_seq

method = sys.argv[1]
data = pd.read_csv(sys.argv[2], sep="\t", index_col=0)
labels = pd.read_csv(sys.argv[3], sep="\t", index_col=0).loc[data.columns]
batch, covariate = list(labels["batch"]), list(labels["covariate"])
if method == "seq":
    out = pycombat_seq(data, batch, covar_mod=covariate)
else:
    out = pycombat_norm(data, batch, covar_mod=covariate, par_prior=(method == "parametric"))
out.to_csv(sys.argv[4], sep="\t", index_label="feature_id", float_format="%.17g")
