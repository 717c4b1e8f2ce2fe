process HARMONOMICS_NORMALISELAYER {
    tag "${layer}"
    label 'process_high'

    container "${ workflow.containerEngine == 'apptainer' ? 'harmonomics_0.1.0.sif' : 'harmonomics:0.1.0' }"

    input:
    tuple val(layer), path(samples, stageAs: 'samples/*')   // the layer's per-sample Parquet files (none for the metabolome or imported tables)
    path cohort

    output:
    tuple val(layer), path("${layer}"), emit: layer
    tuple val("${task.process}"), val('harmonomics'), eval('harmonomics --version | cut -d" " -f2'), topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    mkdir -p ${layer}
    if [ -d samples ]; then ln -s ../samples ${layer}/samples; fi
    harmonomics --quiet --threads ${task.cpus} normalise layer ${args} \\
        --config ${cohort} --layer ${layer} --out .
    """

    stub:
    """
    mkdir -p ${layer}
    touch ${layer}/raw.parquet ${layer}/normalised.parquet
    """
}
