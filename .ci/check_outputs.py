"""Checks `harmonomics run` outputs the way a user reads them: with pandas/pyarrow.

Usage: python .ci/check_outputs.py OUT_DIR   (exits non-zero on the first mismatch)
"""
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

out = Path(sys.argv[1])
root = Path(__file__).resolve().parent.parent
manifest = json.loads((out / "manifest.json").read_text())
assert manifest["tool"]["name"] == "harmonomics"

samples = pd.read_parquet(out / "samples.parquet")
sheet = pd.read_csv(root / "test-data/cohort/samplesheet.csv")
assert list(samples.sample_id) == list(sheet.sample_id), "samples.parquet follows the samplesheet"
timed = samples[samples.layer != "genome"]
assert timed.timepoint_order.between(1, 5).all()
assert samples[samples.layer == "genome"].timepoint.isna().all(), "the genome is time-invariant"

raw = pd.read_parquet(out / "transcriptome/raw.parquet").set_index("feature_id")
planted = pd.read_csv(root / "test-data/cohort/truth/planted_counts.tsv", sep="\t", dtype={"feature_id": str}).set_index("feature_id")
assert raw.dtypes.map(str).eq("uint64").all(), raw.dtypes.value_counts()
pd.testing.assert_frame_equal(raw[planted.columns].astype("int64"), planted.astype("int64"), check_names=False)

meta = pq.read_metadata(out / "transcriptome/normalised.parquet").metadata
assert meta[b"harmonomics.method"] == b"vst", meta
cpm = pd.read_parquet(out / "transcriptome/normalised.cpm.parquet").set_index("feature_id")
assert ((cpm.sum() - 1e6).abs() < 1e-6).all()

harmonised = pd.read_parquet(out / "harmonised.parquet")
long = harmonised[harmonised.layer == "transcriptome"]
assert len(long) == raw.shape[0] * raw.shape[1]
wide = long.pivot(index="feature_id", columns="sample_id", values="raw")
assert (wide.loc[raw.index, raw.columns].to_numpy() == raw.to_numpy()).all()

# Epigenome: the promoter beta is the sum of methylated calls over the sum of calls of the CpGs
# inside the promoter, recomputed here from the per-sample files.
regions = pd.read_parquet(out / "epigenome/regions/promoters.features.parquet").set_index("feature_id")
beta = pd.read_parquet(out / "epigenome/regions/promoters.parquet").set_index("feature_id")
il6 = regions.loc["3569"]
for sample in ["P01_day0", "P05_day0", "P01_month12"]:
    calls = pd.read_parquet(out / f"epigenome/samples/{sample}.parquet")
    inside = calls[(calls.chrom == il6.chrom) & calls.pos.between(il6.start, il6.end)]
    expected = inside.methylated.sum() / (inside.methylated.sum() + inside.unmethylated.sum())
    assert abs(beta.loc["3569", sample] - expected) < 1e-12, (sample, beta.loc["3569", sample], expected)
assert beta.loc["3569", "P01_day0"] < beta.loc["3569", "P05_day0"] - 0.3, "IL6 promoter hypomethylated in HI at day 0"

# Metabolome: every feature the chain kept is a row of normalised.parquet, and qc.parquet's
# removals add up to the features it dropped.
features = pd.read_parquet(out / "metabolome/features.parquet")
normalised = pd.read_parquet(out / "metabolome/normalised.parquet")
steps = pd.read_parquet(out / "metabolome/qc.parquet")
assert list(normalised.feature_id) == list(features.feature_id[features.kept])
assert steps.removed.sum() == (~features.kept).sum()
assert normalised.drop(columns="feature_id").notna().all().all(), "imputed: no missing values left"

# Genome: the dosages are the VCF's GT ALT counts (haploid ALT = 2, missing = null), and the
# chrX sex check calls exactly the planted mislabel against the samplesheet's sex.
lines = (root / "test-data/genome/genotypes.vcf").read_text().splitlines()
body = [line.split("\t") for line in lines if not line.startswith("##")]
vcf = pd.DataFrame(body[1:], columns=body[0])
vcf.index = vcf["#CHROM"] + ":" + vcf["POS"] + ":" + vcf["REF"] + ":" + vcf["ALT"]
def dosage(gt):
    alleles = gt.replace("|", "/").split("/")
    if "." in alleles:
        return float("nan")
    return 2.0 * int(alleles[0]) if len(alleles) == 1 else float(sum(map(int, alleles)))
genome_raw = pd.read_parquet(out / "genome/raw.parquet").set_index("feature_id")
assert list(genome_raw.index) == list(vcf.index)
for sample in genome_raw.columns:
    expected = vcf[sample].map(dosage).to_numpy(dtype=float)
    got = genome_raw[sample].to_numpy(dtype=float)
    assert ((expected == got) | (pd.isna(expected) & pd.isna(got))).all(), sample
genome_qc = pd.read_parquet(out / "genome/qc.parquet").set_index("sample_id")
truth = pd.read_csv(root / "test-data/cohort/truth/genome_sex.tsv", sep="\t").set_index("sample_id")
called = genome_qc.inferred_sex.map({"male": "M", "female": "F"})
assert (called == truth.genetic_sex).all(), called
mislabelled = sorted(truth.index[truth.genetic_sex != truth.recorded_sex])
assert mislabelled == ["P03_germline"], mislabelled
stage = next(s for s in manifest["stages"] if s["name"] == "process_genome")
assert [w for w in stage["warnings"] if "recorded" in w and "chrX" in w] and len(stage["warnings"]) == 1, stage["warnings"]
assert "P03_germline" in stage["warnings"][0]

# Identity: the one planted swap (an RNA sample carrying another patient's alleles) and nothing else.
identity = pd.read_parquet(out / "identity/samples.parquet")
swap_truth = pd.read_csv(root / "test-data/cohort/truth/identity.tsv", sep="\t")
flagged = identity[identity.verdict != "match"]
assert list(zip(flagged.sample_id, flagged.layer, flagged.verdict, flagged.best_other_patient)) == [
    (r.sample_id, r.layer, "swap", r.carries_patient) for r in swap_truth.itertuples()], flagged
assert identity.groupby("layer").size().to_dict() == {"transcriptome": 39, "epigenome": 39, "genome": 8}

# Wide exports: samples as rows, features as columns, read straight into a data frame.
wide_tx = pd.read_parquet(out / "wide/transcriptome.parquet").set_index("sample_id")
vst = pd.read_parquet(out / "transcriptome/normalised.parquet").set_index("feature_id")
pd.testing.assert_frame_equal(wide_tx[vst.index].loc[vst.columns], vst.T, check_names=False)

# MultiQC custom content: the TSV table carries its section header and one row per RNA sample.
mqc = (out / "multiqc/harmonomics_transcriptome_qc_mqc.tsv").read_text().splitlines()
assert mqc[0] == "# id: 'harmonomics_transcriptome_qc'" and mqc[4] == "# pconfig:", mqc[:6]
assert sum(not line.startswith("#") for line in mqc) == 1 + len(raw.columns)

outputs = {o["path"] for o in manifest["outputs"]}
assert {"samples.parquet", "harmonised.parquet", "transcriptome/raw.parquet", "report.html",
        "wide/transcriptome.parquet", "multiqc/harmonomics_completeness_mqc.json"} <= outputs
print(f"outputs OK: {raw.shape[0]} genes x {raw.shape[1]} samples, {len(harmonised)} harmonised rows, "
      f"{len(manifest['warnings'])} warning(s)")
