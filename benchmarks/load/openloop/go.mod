module pgx-cds-hooks/benchmarks/load/openloop

go 1.19
