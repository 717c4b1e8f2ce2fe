#!/usr/bin/env nextflow
// harmonomics as an nf-core-style pipeline: HARMONOMICS_QUANTSAMPLE per sample (scatter),
// HARMONOMICS_NORMALISELAYER per layer, HARMONOMICS_HARMONISE for the cohort (gather).
//   nextflow run workflows/nextflow/main.nf -profile test            (the bundled fixture)
//   nextflow run workflows/nextflow/main.nf -profile slurm,apptainer --cohort /data/cohort.toml --outdir results
// The cohort.toml is passed by absolute path so its samplesheet, annotation and inputs resolve
// on the cluster's shared filesystem, as with `harmonomics run`.
nextflow.enable.dsl = 2

include { HARMONOMICS_QUANTSAMPLE    } from './modules/local/harmonomics/quantsample/main'
include { HARMONOMICS_NORMALISELAYER } from './modules/local/harmonomics/normaliselayer/main'
include { HARMONOMICS_HARMONISE      } from './modules/local/harmonomics/harmonise/main'

def ALIGNMENT = ~/.*\.(bam|cram|sam|sam\.gz)$/

workflow {
    cohort = file(params.cohort, checkIfExists: true)
    // The samplesheet named in cohort.toml, relative to it.
    def sheetName = cohort.text.readLines().find { it ==~ /^\s*samplesheet\s*=.*/ }.replaceAll(/.*=\s*"(.*)".*/, '$1')
    def sheet = cohort.parent.resolve(sheetName)

    rows = Channel.fromPath(sheet)
        .splitCsv(header: true)
        .map { row -> [[id: row.sample_id, layer: row.layer, patient: row.patient_id, timepoint: row.timepoint],
                       file("${sheet.parent}/${row.path}")] }

    // Scatter: RNA alignments and every epigenome sample, one task each.
    scattered = rows.filter { meta, data -> meta.layer == 'epigenome' || (meta.layer == 'transcriptome' && data.name ==~ ALIGNMENT) }
    HARMONOMICS_QUANTSAMPLE(scattered, cohort)

    // One task per layer, with that layer's per-sample files (an empty list where nothing scatters).
    layers = rows.map { meta, data -> meta.layer }.unique()
    per_layer = HARMONOMICS_QUANTSAMPLE.out.parquet
        .map { meta, parquet -> [meta.layer, parquet] }
        .groupTuple()
    layer_inputs = layers
        .join(per_layer, remainder: true)
        .map { layer, files -> [layer, files ?: []] }
    HARMONOMICS_NORMALISELAYER(layer_inputs, cohort)

    // Gather.
    HARMONOMICS_HARMONISE(HARMONOMICS_NORMALISELAYER.out.layer.map { layer, dir -> dir }.collect(), cohort)

    channel.topic('versions')
        .unique()
        .map { process, tool, version -> "${process.tokenize(':').last()}:\n    ${tool}: ${version}" }
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", newLine: true)
}
