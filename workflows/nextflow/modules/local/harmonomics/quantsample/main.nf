process HARMONOMICS_QUANTSAMPLE {
    tag "${meta.layer}:${meta.id}"
    label 'process_medium'

    container "${ workflow.containerEngine == 'apptainer' ? 'harmonomics_0.1.0.sif' : 'harmonomics:0.1.0' }"

    input:
    tuple val(meta), path(data)   // data: the sample's alignment or table (staged so the task sees it)
    path cohort                   // cohort.toml (its samplesheet and annotation paths are absolute or relative to it)

    output:
    tuple val(meta), path("${meta.layer}/samples/${meta.id}.parquet"), emit: parquet
    tuple val("${task.process}"), val('harmonomics'), eval('harmonomics --version | cut -d" " -f2'), topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    harmonomics --quiet --threads ${task.cpus} quant sample ${args} \\
        --config ${cohort} --layer ${meta.layer} --sample ${meta.id} --out .
    """

    stub:
    """
    mkdir -p ${meta.layer}/samples
    touch ${meta.layer}/samples/${meta.id}.parquet
    """
}
