#!/usr/bin/env Rscript
# Reference values from R's edgeR and DESeq2 for the concordance tests.
#
# usage: reference_edger.R COUNTS OUTDIR [GROUPS.csv COLUMN [DESIGN]]
#   COUNTS: feature id, then one integer column per sample (tab-separated, header row).
#   GROUPS.csv: a samples table with sample_id and COLUMN (filterByExpr's group) and DESIGN's
#   columns (COLUMN1+COLUMN2...: keep_design.tsv, filterByExpr(y, design = model.matrix(~ ...))).
# Writes to OUTDIR (tab-separated, gene id first, full precision):
#   tmm.tsv tmmwsp.tsv uq.tsv   cpm(calcNormFactors(y, method)) (normalised library sizes)
#   log2cpm.tsv                 cpm(y, log = TRUE)                       (prior.count 2)
#   log2cpm_tmm.tsv             cpm(calcNormFactors(y), log = TRUE)
#   factors.tsv                 TMM, TMMwsp and upper-quartile factors
#   keep.tsv                    filterByExpr(y, group) as 0/1
#   counts.csv, counts.txt      the counts as R's write.csv and write.table (defaults) write them
#   controls.txt, deseq2_controls.tsv
#                               every 7th gene with no zero as controlGenes, and
#                               counts(estimateSizeFactors(dds, controlGenes), normalized = TRUE)
suppressPackageStartupMessages({ library(edgeR); library(DESeq2) })
args <- commandArgs(trailingOnly = TRUE)
counts <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
out <- args[2]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
save <- function(m, name) {
  df <- data.frame(feature_id = rownames(m), format(as.data.frame(m), digits = 17, scientific = FALSE, trim = TRUE),
                   check.names = FALSE)
  write.table(df, file.path(out, name), sep = "\t", quote = FALSE, row.names = FALSE)
}
write.csv(counts, file.path(out, "counts.csv"))
write.table(counts, file.path(out, "counts.txt"))
y <- DGEList(counts)
nf <- list()
for (m in c("TMM", "TMMwsp", "upperquartile")) {
  z <- calcNormFactors(y, method = m)
  nf[[m]] <- z$samples$norm.factors
  save(cpm(z), paste0(c(TMM = "tmm", TMMwsp = "tmmwsp", upperquartile = "uq")[[m]], ".tsv"))
}
save(cpm(y, log = TRUE), "log2cpm.tsv")
save(cpm(calcNormFactors(y), log = TRUE), "log2cpm_tmm.tsv")
f <- data.frame(sample_id = colnames(counts), tmm_factor = format(nf$TMM, digits = 17),
                tmmwsp_factor = format(nf$TMMwsp, digits = 17), uq_factor = format(nf$upperquartile, digits = 17))
write.table(f, file.path(out, "factors.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
group <- NULL
if (length(args) >= 4) {
  s <- read.csv(args[3], comment.char = "#", check.names = FALSE)
  group <- s[[args[4]]][match(colnames(counts), s$sample_id)]
}
keep <- suppressMessages(filterByExpr(y, group = group))
save(matrix(as.integer(keep), dimnames = list(rownames(counts), "keep")), "keep.tsv")
if (length(args) >= 5) {
  columns <- strsplit(args[5], "+", fixed = TRUE)[[1]]
  f <- lapply(columns, function(column) factor(s[[column]][match(colnames(counts), s$sample_id)]))
  names(f) <- paste0("f", seq_along(columns))
  design <- model.matrix(as.formula(paste("~", paste(names(f), collapse = " + "))), data = as.data.frame(f))
  keep <- filterByExpr(y, design = design)
  save(matrix(as.integer(keep), dimnames = list(rownames(counts), "keep")), "keep_design.tsv")
}
nozero <- which(rowSums(counts == 0) == 0)
controls <- nozero[seq(1, length(nozero), by = 7)]
writeLines(rownames(counts)[controls], file.path(out, "controls.txt"))
dds <- DESeqDataSetFromMatrix(counts, DataFrame(row.names = colnames(counts)), ~ 1)
dds <- estimateSizeFactors(dds, controlGenes = controls)
save(counts(dds, normalized = TRUE), "deseq2_controls.tsv")
