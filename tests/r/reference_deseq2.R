#!/usr/bin/env Rscript
# Reference values from R's DESeq2 (and edgeR) for the concordance tests.
#
# usage: reference_deseq2.R COUNTS.tsv OUTDIR [SAMPLES.csv DESIGN...]
#   With SAMPLES.csv (sample_id and the designs' columns; a DESIGN is COLUMN or
#   COLUMN1+COLUMN2...) also, per DESIGN, vst_design_COLUMN1_COLUMN2.tsv:
#   varianceStabilizingTransformation(dds with design ~ COLUMN1 + COLUMN2, blind = FALSE), each
#   column a factor; vst_design_COLUMN1_COLUMN2_mean.tsv the same with fitType = "mean"; and
#   the design's trend in trend.tsv as design_COLUMN1_COLUMN2.
#        reference_deseq2.R --synthetic GENES SAMPLES SEED COUNTS.tsv
#   The second form writes negative-binomial counts (rnbinom after set.seed(SEED)): gene means
#   log-uniform over 0.5..5,000, dispersion 0.05 + 1/mean, a third of the genes Poisson (their
#   gene-wise estimates sit at DESeq2's lower bound), size factors log-uniform over 0.5..2.
#   COUNTS.tsv: feature id, then one integer column per sample (tab-separated, header row).
# Writes to OUTDIR (tab-separated, gene id first, full precision):
#   vst.tsv          varianceStabilizingTransformation(dds, blind = TRUE)          (parametric)
#   vst_mean.tsv     varianceStabilizingTransformation(dds, blind = TRUE, fitType = "mean")
#   vst_local.tsv    varianceStabilizingTransformation(dds, blind = TRUE, fitType = "local")  (locfit)
#   vst_nsub.tsv     vst(dds, blind = TRUE, nsub = NSUB)  (only when enough genes; NSUB env, default 1000)
#   trend.tsv        the fitted trends' coefficients and fit types ("local" where R substituted it)
#   dispersions.tsv  gene-wise dispersion estimates (estimateDispersionsGeneEst)
suppressPackageStartupMessages({ library(DESeq2) })
args <- commandArgs(trailingOnly = TRUE)
if (args[1] == "--synthetic") {
  genes <- as.integer(args[2]); samples <- as.integer(args[3]); set.seed(as.integer(args[4]))
  mu <- exp(runif(genes, log(0.5), log(5000)))
  disp <- ifelse(seq_len(genes) %% 3 == 0, 0, 0.05 + 1 / mu)
  sf <- exp(runif(samples, log(0.5), log(2)))
  m <- t(sapply(seq_len(genes), function(i) {
    if (disp[i] == 0) rpois(samples, mu[i] * sf) else rnbinom(samples, mu = mu[i] * sf, size = 1 / disp[i])
  }))
  dimnames(m) <- list(sprintf("gene%05d", seq_len(genes)), sprintf("s%02d", seq_len(samples)))
  write.table(data.frame(feature_id = rownames(m), m, check.names = FALSE), args[5], sep = "\t", quote = FALSE,
              row.names = FALSE)
  quit(save = "no")
}
counts <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
storage.mode(counts) <- "integer"
out <- args[2]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
save <- function(m, name) {
  df <- data.frame(feature_id = rownames(m), format(as.data.frame(m), digits = 17, scientific = FALSE, trim = TRUE),
                   check.names = FALSE)
  write.table(df, file.path(out, name), sep = "\t", quote = FALSE, row.names = FALSE)
}
dds <- DESeqDataSetFromMatrix(counts, DataFrame(row.names = colnames(counts)), ~ 1)
dds <- estimateSizeFactors(dds)
trend <- function(v, what) {
  f <- dispersionFunction(v)
  if (is.null(f)) return(NULL)
  c(what = what, fit_type = attr(f, "fitType"),
    a0 = if (is.null(attr(f, "coefficients"))) NA else format(unname(attr(f, "coefficients")[1]), digits = 17),
    a1 = if (is.null(attr(f, "coefficients"))) NA else format(unname(attr(f, "coefficients")[2]), digits = 17),
    mean = if (is.null(attr(f, "mean"))) NA else format(attr(f, "mean"), digits = 17))
}
# The trends and gene-wise estimates the transformations use (the transforms do not keep them).
rows <- list()
d <- estimateDispersionsGeneEst(dds, quiet = TRUE)
g <- matrix(mcols(d)$dispGeneEst, dimnames = list(rownames(d), "disp_gene_est"))
save(g, "dispersions.tsv")
rows[[1]] <- trend(estimateDispersionsFit(d, quiet = TRUE), "vst")
rows[[2]] <- trend(estimateDispersionsFit(d, fitType = "mean", quiet = TRUE), "vst_mean")
v <- varianceStabilizingTransformation(dds, blind = TRUE)
save(assay(v), "vst.tsv")
v <- varianceStabilizingTransformation(dds, blind = TRUE, fitType = "mean")
save(assay(v), "vst_mean.tsv")
v <- varianceStabilizingTransformation(dds, blind = TRUE, fitType = "local")
save(assay(v), "vst_local.tsv")
design_trends <- list()
for (design in args[-(1:3)]) {
  s <- read.csv(args[3], comment.char = "#", check.names = FALSE, colClasses = "character")
  columns <- strsplit(design, "+", fixed = TRUE)[[1]]
  coldata <- DataFrame(row.names = colnames(counts))
  for (k in seq_along(columns)) coldata[[paste0("f", k)]] <- factor(s[[columns[k]]][match(colnames(counts), s$sample_id)])
  dd <- DESeqDataSetFromMatrix(counts, coldata, as.formula(paste("~", paste0("f", seq_along(columns), collapse = " + "))))
  dd <- estimateSizeFactors(dd)
  key <- paste0("design_", paste(columns, collapse = "_"))
  save(assay(suppressMessages(varianceStabilizingTransformation(dd, blind = FALSE))), paste0("vst_", key, ".tsv"))
  save(assay(varianceStabilizingTransformation(dd, blind = FALSE, fitType = "mean")), paste0("vst_", key, "_mean.tsv"))
  d <- estimateDispersionsGeneEst(dd, quiet = TRUE)
  design_trends[[key]] <- trend(suppressMessages(estimateDispersionsFit(d, quiet = TRUE)), key)
}
nsub <- as.integer(Sys.getenv("NSUB", "1000"))
bm <- rowMeans(counts(dds, normalized = TRUE))
if (nrow(dds) >= nsub && sum(bm > 5) >= nsub) {
  v <- suppressMessages(vst(dds, blind = TRUE, nsub = nsub))
  save(assay(v), "vst_nsub.tsv")
  # vst()'s own subset and trend (it does not return them), as vst() picks them.
  sub <- dds[bm > 5, ]
  o <- order(bm[bm > 5])
  sub <- estimateDispersionsGeneEst(sub[o[round(seq(from = 1, to = length(o), length = nsub))], ], quiet = TRUE)
  rows[[3]] <- trend(suppressMessages(estimateDispersionsFit(sub, quiet = TRUE)), "vst_nsub")
}
write.table(do.call(rbind, c(rows, design_trends)), file.path(out, "trend.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
