process HARMONOMICS_HARMONISE {
    tag "cohort"
    label 'process_high'

    container "${ workflow.containerEngine == 'apptainer' ? 'harmonomics_0.1.0.sif' : 'harmonomics:0.1.0' }"

    input:
    path layers   // the <layer>/ directories from HARMONOMICS_NORMALISELAYER, staged under their names
    path cohort

    output:
    path "harmonised.parquet"  , emit: harmonised
    path "samples.parquet"     , emit: samples
    path "completeness.parquet", emit: completeness
    path "mofa.parquet"        , emit: mofa
    path "wide/*.parquet"      , emit: wide
    path "multiqc/*_mqc.*"     , emit: multiqc
    path "report.html"         , emit: report
    path "manifest.json"       , emit: manifest
    path "*/*.combat*.parquet" , emit: combat, optional: true   // ComBat / ComBat-seq matrices
    tuple val("${task.process}"), val('harmonomics'), eval('harmonomics --version | cut -d" " -f2'), topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    harmonomics --quiet --threads ${task.cpus} harmonise ${args} --config ${cohort} --input . --out .
    """

    stub:
    """
    mkdir -p wide multiqc
    touch harmonised.parquet samples.parquet completeness.parquet mofa.parquet wide/transcriptome.parquet \\
        multiqc/harmonomics_completeness_mqc.json report.html manifest.json
    """
}
