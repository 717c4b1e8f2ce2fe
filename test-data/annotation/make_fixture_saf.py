#!/usr/bin/env python3
"""Cut the fixture annotation out of the RefSeq hg38 SAF that ships with Debian's subread.

Deterministic: the same input gives the same bytes. Usage:
    python3 make_fixture_saf.py ../../../shared/data/annotation/hg38_RefSeq_exon.txt.gz > hg38_refseq_fixture.saf

Keeps every exon row (duplicates across transcripts included, as in the source) of
  * the 15 genes the fixture plants biology into (Entrez ids below), and
  * every 100th other gene (in file order) that lies on chr1-22/X, spans at most 150 kb and
    has at least 500 exonic bases,
then drops background genes whose span overlaps a kept gene's span, so that every simulated read
is unambiguous by construction. Output is sorted by chromosome (natural order), start, gene.
"""
import gzip
import sys

PLANTED = ["3569", "3553", "7124", "3576", "3586", "3122", "29126", "6279", "6280",
           "4317", "3934", "383", "916", "920", "925"]
PRIMARY = [f"chr{i}" for i in range(1, 23)] + ["chrX"]
EVERY = 100
MAX_SPAN = 150_000
MIN_EXONIC = 500


def exonic_length(exons):
    total, end = 0, 0
    for s, e in sorted((s, e) for _, s, e, _ in exons):
        if e > end:
            total += e - max(s, end + 1) + 1
            end = e
    return total


def main(path):
    genes, order = {}, []
    with gzip.open(path, "rt") as fh:
        next(fh)
        for line in fh:
            gid, chrom, start, end, strand = line.rstrip("\n").split("\t")
            if gid not in genes:
                genes[gid] = []
                order.append(gid)
            genes[gid].append((chrom, int(start), int(end), strand))

    def eligible(gid):
        exons = genes[gid]
        chroms = {c for c, _, _, _ in exons}
        strands = {s for _, _, _, s in exons}
        if len(chroms) != 1 or len(strands) != 1 or next(iter(chroms)) not in PRIMARY:
            return False
        span = max(e for _, _, e, _ in exons) - min(s for _, s, _, _ in exons) + 1
        return span <= MAX_SPAN and exonic_length(exons) >= MIN_EXONIC

    for gid in PLANTED:
        if not eligible(gid):
            sys.exit(f"planted gene {gid} is not eligible")
    background = [g for i, g in enumerate(order) if i % EVERY == 0 and g not in PLANTED and eligible(g)]

    kept, spans = [], []
    for gid in PLANTED + background:
        exons = genes[gid]
        chrom = exons[0][0]
        lo, hi = min(s for _, s, _, _ in exons), max(e for _, _, e, _ in exons)
        if any(c == chrom and lo <= h and l <= hi for c, l, h in spans):
            if gid in PLANTED:
                sys.exit(f"planted gene {gid} overlaps another planted gene")
            continue
        spans.append((chrom, lo, hi))
        kept.append(gid)

    rows = [(PRIMARY.index(c), s, e, gid, c, st) for gid in kept for c, s, e, st in genes[gid]]
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    out = sys.stdout
    out.write("GeneID\tChr\tStart\tEnd\tStrand\n")
    for _, s, e, gid, c, st in rows:
        out.write(f"{gid}\t{c}\t{s}\t{e}\t{st}\n")


if __name__ == "__main__":
    main(sys.argv[1])
