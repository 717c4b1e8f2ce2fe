"""inmoose's pycombat_norm on a genes x samples TSV; batch and covariate labels in a second TSV.

Usage: python reference_combat.py DATA.tsv LABELS.tsv OUT.tsv   (LABELS: sample, batch, covariate)
"""
import sys

import pandas as pd
from inmoose.pycombat import pycombat_norm

data = pd.read_csv(sys.argv[1], sep="\t", index_col=0)
labels = pd.read_csv(sys.argv[2], sep="\t", index_col=0).loc[data.columns]
out = pycombat_norm(data, list(labels["batch"]), covar_mod=list(labels["covariate"]))
out.to_csv(sys.argv[3], sep="\t", index_label="feature_id", float_format="%.17g")
