# Diversity and compositional transforms from vegan (Debian r-cran-vegan), the reference for the
# microbiome layer, on two real taxon count tables that vegan ships: BCI (Condit et al. 2002:
# trees of 225 species counted in 50 one-hectare plots of Barro Colorado Island) and mite
# (Borcard & Legendre 1994: 35 oribatid mite taxa counted in 70 soil cores).
# Usage: Rscript reference_vegan.R OUTDIR   writes OUTDIR/<set>/{counts,alpha,clr,rclr,bray,aitchison,pcoa_bray,pcoa_bray_explained}.tsv
suppressMessages(library(vegan))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
write_tsv <- function(m, path) {
  m <- as.matrix(m)
  text <- matrix(sprintf("%.17g", m), nrow = nrow(m))
  lines <- c(paste(c("sample", colnames(m)), collapse = "\t"),
             apply(cbind(rownames(m), text), 1, paste, collapse = "\t"))
  writeLines(lines, path)
}
data(BCI)
data(mite)
for (set in list(list("BCI", BCI), list("mite", mite))) {
  name <- set[[1]]
  x <- as.matrix(set[[2]])
  rownames(x) <- paste0("s", seq_len(nrow(x)))
  dir.create(file.path(out, name), recursive = TRUE, showWarnings = FALSE)
  write_tsv(x, file.path(out, name, "counts.tsv"))
  alpha <- cbind(observed = specnumber(x), shannon = diversity(x, "shannon"),
                 simpson = diversity(x, "simpson"), chao1 = estimateR(x)["S.chao1", ])
  write_tsv(alpha, file.path(out, name, "alpha.tsv"))
  write_tsv(decostand(x, "clr", pseudocount = 1), file.path(out, name, "clr.tsv"))
  write_tsv(decostand(x, "rclr"), file.path(out, name, "rclr.tsv"))
  write_tsv(as.matrix(vegdist(x, "bray")), file.path(out, name, "bray.tsv"))
  write_tsv(as.matrix(vegdist(x, "aitchison", pseudocount = 1)), file.path(out, name, "aitchison.tsv"))
  # Principal coordinates of the Bray-Curtis distances (classical scaling, as vegan's wcmdscale
  # and scikit-bio's pcoa): the first two axes and their share of the eigenvalues' sum.
  p <- cmdscale(vegdist(x, "bray"), k = 2, eig = TRUE)
  points <- p$points
  rownames(points) <- rownames(x)
  colnames(points) <- c("axis1", "axis2")
  write_tsv(points, file.path(out, name, "pcoa_bray.tsv"))
  explained <- matrix(p$eig[1:2] / sum(p$eig), nrow = 1, dimnames = list("explained", c("axis1", "axis2")))
  write_tsv(explained, file.path(out, name, "pcoa_bray_explained.tsv"))
}
