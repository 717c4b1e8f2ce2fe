# Negative-binomial counts for benches/normalise.sh: GENES x SAMPLES, gene means log-uniform over
# 0.5..10,000, dispersion 0.1 + 1/mean (the issue's trend), size factors log-uniform over 0.5..2;
# set.seed(SEED). Writes a TSV (feature_id, then one column per sample).
#
#   Rscript benches/make_nb_counts.R GENES SAMPLES SEED OUT.tsv
args <- commandArgs(trailingOnly = TRUE)
genes <- as.integer(args[1]); samples <- as.integer(args[2]); set.seed(as.integer(args[3]))
mu <- exp(runif(genes, log(0.5), log(10000)))
size <- 1 / (0.1 + 1 / mu)
sf <- exp(runif(samples, log(0.5), log(2)))
m <- matrix(rnbinom(genes * samples, mu = rep(mu, samples) * rep(sf, each = genes), size = rep(size, samples)),
            genes, samples, dimnames = list(sprintf("g%05d", seq_len(genes)), sprintf("s%03d", seq_len(samples))))
write.table(data.frame(feature_id = rownames(m), m, check.names = FALSE), args[4], sep = "\t", quote = FALSE,
            row.names = FALSE)
