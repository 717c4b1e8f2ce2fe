#!/usr/bin/env Rscript
# R's sva (ComBat, ComBat_seq) on a genes x samples TSV; batch and covariate labels in a second TSV.
#
# usage: reference_sva.R METHOD DATA.tsv LABELS.tsv OUT.tsv
#   METHOD: parametric | nonparametric (ComBat's par.prior, mod = model.matrix(~ covariate))
#           | seq (ComBat_seq on counts, covar_mod = the covariate as a factor)
#   LABELS: sample, batch, covariate (tab-separated, header row).
suppressPackageStartupMessages(library(sva))
args <- commandArgs(trailingOnly = TRUE)
data <- as.matrix(read.delim(args[2], row.names = 1, check.names = FALSE))
labels <- read.delim(args[3], row.names = 1, check.names = FALSE, colClasses = "character")[colnames(data), ]
batch <- factor(labels$batch)
covariate <- factor(labels$covariate)
out <- if (args[1] == "seq") {
  invisible(capture.output(r <- ComBat_seq(data, batch = batch, group = NULL, covar_mod = model.matrix(~ covariate))))
  r
} else {
  invisible(capture.output(r <- suppressMessages(ComBat(data, batch = batch, mod = model.matrix(~ covariate),
                                                          par.prior = args[1] == "parametric"))))
  r
}
df <- data.frame(feature_id = rownames(out), format(as.data.frame(out), digits = 17, scientific = FALSE, trim = TRUE),
                 check.names = FALSE)
write.table(df, args[4], sep = "\t", quote = FALSE, row.names = FALSE)
