#!/usr/bin/env nextflow
// Scatter `harmonomics quant rna` over a samplesheet (nf-core module conventions).
//   nextflow run workflows/nextflow/main.nf --samplesheet test-data/cohort/samplesheet.csv \
//       --annotation test-data/annotation/hg38_refseq_fixture.saf --outdir results
nextflow.enable.dsl = 2

params.samplesheet = "${projectDir}/../../test-data/cohort/samplesheet.csv"
params.annotation  = "${projectDir}/../../test-data/annotation/hg38_refseq_fixture.saf"
params.outdir      = "results"

process HARMONOMICS_QUANT_RNA {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}/quant", mode: 'copy'

    input:
    tuple val(meta), path(bam)
    path annotation

    output:
    tuple val(meta), path("${meta.id}.parquet"), emit: counts
    tuple val(meta), path("${meta.id}.featureCounts.txt*"), emit: featurecounts
    tuple val("${task.process}"), val('harmonomics'), eval('harmonomics --version | cut -d" " -f2'), topic: versions

    script:
    def args = task.ext.args ?: ''
    """
    harmonomics --quiet --threads ${task.cpus} quant rna \\
        --bam ${bam} -a ${annotation} ${args} \\
        --out ${meta.id}.parquet --featurecounts-tsv ${meta.id}.featureCounts.txt
    """

    stub:
    """
    touch ${meta.id}.parquet ${meta.id}.featureCounts.txt ${meta.id}.featureCounts.txt.summary
    """
}

workflow {
    def sheet = file(params.samplesheet)
    samples = Channel.fromPath(sheet)
        .splitCsv(header: true)
        .filter { row -> row.layer == 'transcriptome' }
        .map { row -> tuple([id: row.sample_id, patient: row.patient_id, timepoint: row.timepoint], file("${sheet.parent}/${row.path}")) }
    HARMONOMICS_QUANT_RNA(samples, file(params.annotation))
}
