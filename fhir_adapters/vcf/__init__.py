"""From a lab's germline VCF to star-allele diplotypes, phenotypes and FHIR Genomics Reporting."""
