"""Every file in ../shared/fhir-examples, read to domain results (or why it holds none).

The table is the contract for what the reader does with each real-world form; a file added to the
folder without a row here fails ``test_every_example_is_in_the_table``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from fhir_adapters import read_genotypes
from knowledge import KnowledgeBase

EXAMPLES = "fhir-examples"
CONFORMANCE = "conformance artifact (profiles, value sets, operation definitions), not patient data"


@dataclass(frozen=True)
class Expect:
    gene: str
    diplotype: str | None = None
    phenotype: str | None = None
    carriers: tuple[str, ...] = ()
    non_carriers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Read:
    path: str
    expected: list[Expect]


@dataclass(frozen=True)
class NoResult:
    path: str
    reason: str


TABLE: list[Read | NoResult] = [
    Read(
        "emerge-fhir-spec/Custom/GenomicReportFHIRBundleNegative3.json",
        [
            Expect("CYP2C19", diplotype="*1/*2", phenotype="Intermediate Metabolizer"),
            Expect("DPYD", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 reference (C)/rs12979860 reference (C)",
                phenotype="Favorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*1", phenotype="High activity"),
            Expect("CYP2C9", diplotype="*1/*2"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)"),
            Expect("SLCO1B1", phenotype="Normal Function"),
        ],
    ),
    Read(
        "emerge-fhir-spec/Custom/GenomicReportFHIRBundleNegative4.json",
        [
            Expect("CYP2C19", diplotype="*1/*3", phenotype="Intermediate Metabolizer"),
            Expect(
                "DPYD", diplotype="c.1679T>G (*13)/c.1679T>G (*13)", phenotype="Poor Metabolizer"
            ),
            Expect(
                "IFNL3",
                diplotype="rs12979860 reference (C)/rs12979860 reference (C)",
                phenotype="Favorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*2", phenotype="Intermediate activity"),
            Expect("CYP2C9", diplotype="*2/*2"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)"),
            Expect("SLCO1B1", phenotype="Low function"),
        ],
    ),
    Read(
        "emerge-fhir-spec/Custom/GenomicReportFHIRBundlePositive4.json",
        [
            Expect("CYP2C19", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect("DPYD", diplotype="*1/c.1905+1G>A (*2A)", phenotype="Intermediate Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 variant (T)/rs12979860 variant (T)",
                phenotype="Unfavorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*1", phenotype="High activity"),
            Expect("CYP2C9", diplotype="*1/*1"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)"),
            Expect("SLCO1B1", phenotype="Intermediate function"),
        ],
    ),
    Read(
        "emerge-fhir-spec/Custom/GenomicReportFHIRBundlePositive5.json",
        [
            Expect("CYP2C19", diplotype="*1/*17", phenotype="Rapid Metabolizer"),
            Expect("DPYD", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 reference (C)/rs12979860 variant (T)",
                phenotype="Unfavorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*1", phenotype="High activity"),
            Expect("CYP2C9", diplotype="*1/*2"),
            Expect("VKORC1", diplotype="rs9923231 variant (T)/rs9923231 variant (T)"),
            Expect(
                "SLCO1B1", phenotype="Normal function, Normal simvastatin induced myopathy risk"
            ),
        ],
    ),
    Read(
        "emerge-fhir-spec/Custom/GenomicReportFHIRBundlePositive6.json",
        [
            Expect("CYP2C19", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect("DPYD", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 variant (T)/rs12979860 variant (T)",
                phenotype="Unfavorable response genotype",
            ),
            Expect("TPMT", diplotype="*2/*2", phenotype="Low or deficient activity"),
            Expect("CYP2C9", diplotype="*1/*1"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 reference (C)"),
            Expect(
                "SLCO1B1", phenotype="Normal function, Normal simvastatin induced myopathy risk"
            ),
        ],
    ),
    Read(
        "emerge-fhir-spec/Standard/GenomicReportFHIRBundleNegative1.json",
        [
            Expect("CYP2C19", diplotype="*1/*2", phenotype="Intermediate Metabolizer"),
            Expect("DPYD", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 reference (C)/rs12979860 reference (C)",
                phenotype="Favorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*1", phenotype="High activity"),
            Expect("CYP2C9", diplotype="*1/*2"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)"),
            Expect("SLCO1B1", phenotype="Normal Function"),
        ],
    ),
    Read(
        "emerge-fhir-spec/Standard/GenomicReportFHIRBundleNegative2.json",
        [
            Expect("CYP2C19", diplotype="*1/*3", phenotype="Intermediate Metabolizer"),
            Expect(
                "DPYD", diplotype="c.1679T>G (*13)/c.1679T>G (*13)", phenotype="Poor Metabolizer"
            ),
            Expect(
                "IFNL3",
                diplotype="rs12979860 reference (C)/rs12979860 reference (C)",
                phenotype="Favorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*2", phenotype="Intermediate activity"),
            Expect("CYP2C9", diplotype="*2/*2"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)"),
            Expect("SLCO1B1", phenotype="Low function"),
        ],
    ),
    Read(
        "emerge-fhir-spec/Standard/GenomicReportFHIRBundlePositive1.json",
        [
            Expect("CYP2C19", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect("DPYD", diplotype="*1/c.1905+1G>A (*2A)", phenotype="Intermediate Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 variant (T)/rs12979860 variant (T)",
                phenotype="Unfavorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*1", phenotype="High activity"),
            Expect("CYP2C9", diplotype="*1/*1"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)"),
            Expect("SLCO1B1", phenotype="Intermediate function"),
        ],
    ),
    Read(
        "emerge-fhir-spec/Standard/GenomicReportFHIRBundlePositive2.json",
        [
            Expect("CYP2C19", diplotype="*1/*17", phenotype="Rapid Metabolizer"),
            Expect("DPYD", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 reference (C)/rs12979860 variant (T)",
                phenotype="Unfavorable response genotype",
            ),
            Expect("TPMT", diplotype="*1/*1", phenotype="High activity"),
            Expect("CYP2C9", diplotype="*1/*2"),
            Expect("VKORC1", diplotype="rs9923231 variant (T)/rs9923231 variant (T)"),
            Expect(
                "SLCO1B1", phenotype="Normal function, Normal simvastatin induced myopathy risk"
            ),
        ],
    ),
    Read(
        "emerge-fhir-spec/Standard/GenomicReportFHIRBundlePositive3.json",
        [
            Expect("CYP2C19", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect("DPYD", diplotype="*1/*1", phenotype="Normal Metabolizer"),
            Expect(
                "IFNL3",
                diplotype="rs12979860 variant (T)/rs12979860 variant (T)",
                phenotype="Unfavorable response genotype",
            ),
            Expect("TPMT", diplotype="*2/*2", phenotype="Low or deficient activity"),
            Expect("CYP2C9", diplotype="*1/*1"),
            Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 reference (C)"),
            Expect(
                "SLCO1B1", phenotype="Normal function, Normal simvastatin induced myopathy risk"
            ),
        ],
    ),
    NoResult(
        "emerge-fhir-spec/pgx-panel-01.json",
        "not a FHIR resource (a Bundle entry with fullUrl/resource, invalid meta)",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_specific_haplotypes/1.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_specific_haplotypes/2.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_specific_haplotypes/3.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_specific_haplotypes/4.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_tx_implications/1.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_tx_implications/2.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_tx_implications/3.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_tx_implications/4.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_population_tx_implications/5.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    Read(
        "fhir-genomics-operations-ri/find_subject_haplotypes/1.json",
        [Expect("CYP2D6", diplotype="*1/*41")],
    ),
    Read(
        "fhir-genomics-operations-ri/find_subject_haplotypes/2.json",
        [Expect("CYP2C19", diplotype="*1/*17"), Expect("CYP2D6", diplotype="*1/*41")],
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_subject_haplotypes/3.json",
        "unreadable: HLA-B genotype does not establish any allele of interest",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_subject_haplotypes/4.json",
        "unreadable: HLA-B genotype does not establish any allele of interest",
    ),
    Read(
        "fhir-genomics-operations-ri/find_subject_specific_haplotypes/1.json",
        [Expect("CYP2C19", diplotype="*1/*1")],
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_subject_specific_haplotypes/2.json",
        "unreadable: presence of HLA-B*27 says nothing about its alleles of interest",
    ),
    NoResult(
        "fhir-genomics-operations-ri/find_subject_specific_haplotypes/3.json",
        "HLA-DRB1 is not in the knowledge; unreadable: HLA-DRB1 genotype is not a two-allele HLA genotype",
    ),
    Read(
        "fhir-genomics-operations-ri/find_subject_tx_implications/2.json",
        [
            Expect("CYP2C19", diplotype="*1/*17", phenotype="Rapid Metabolizer"),
            Expect("CYP2D6", diplotype="*1/*41", phenotype="Normal Metabolizer"),
        ],
    ),
    Read(
        "fhir-genomics-operations-ri/find_subject_tx_implications/4.json",
        [
            Expect("CYP2C19", diplotype="*1/*17", phenotype="Rapid Metabolizer"),
            Expect("CYP2D6", diplotype="*1/*41", phenotype="Normal Metabolizer"),
        ],
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/DiagnosticReport-example-pgx.json",
        "report alone: its result Observations are not in the file",
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/MolecularSequence-example-pgx-1.json",
        "raw sequence, not a result",
    ),
    Read(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-TPMT-diplotype.json",
        [Expect("TPMT", diplotype="*1/*4")],
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-TPMT-haplotype-one.json",
        "unreadable: 1 TPMT haplotype(s): a diplotype needs two",
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-TPMT-haplotype-two.json",
        "unreadable: 1 TPMT haplotype(s): a diplotype needs two",
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-diplotype1.json",
        "unreadable: CYP2C9 genotype has no value",
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-haplotype1.json",
        "coded 55233-1 (panel), not a genotype or haplotype code: not read",
    ),
    NoResult(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-haplotype2.json",
        "coded 55233-1 (panel), not a genotype or haplotype code: not read",
    ),
    Read(
        "hl7-fhir-r4-core-legacy-genetics/Observation-example-phenotype.json",
        [Expect("CYP2C9", phenotype="Normal Metabolizer")],
    ),
    Read(
        "hl7-genomics-reporting-stu1/HLAB1502-pgx-example.converted.json",
        [Expect("HLA-B", phenotype="High risk", carriers=("*15:02",))],
    ),
    NoResult(
        "hl7-genomics-reporting-stu1/HLAB1502-pgx-example.xml",
        "not JSON (XML twin of a .converted.json, or FSH source)",
    ),
    Read(
        "hl7-genomics-reporting-stu1/diagnosticreport-pgxexample.converted.json",
        [Expect("CYP2C9", diplotype="*4/*35B", phenotype="Rapid Metabolizer")],
    ),
    NoResult(
        "hl7-genomics-reporting-stu1/diagnosticreport-pgxexample.xml",
        "not JSON (XML twin of a .converted.json, or FSH source)",
    ),
    NoResult(
        "hl7-genomics-reporting-stu1/report-CYP2C19.converted.json",
        "variant-level report (contained variants, region studied): no genotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu1/report-CYP2C19.xml",
        "not JSON (XML twin of a .converted.json, or FSH source)",
    ),
    NoResult(
        "hl7-genomics-reporting-stu2-transcribed/CGFindings.stu2.fsh",
        "not JSON (XML twin of a .converted.json, or FSH source)",
    ),
    NoResult(
        "hl7-genomics-reporting-stu2-transcribed/CGImplications.stu2.fsh",
        "not JSON (XML twin of a .converted.json, or FSH source)",
    ),
    Read(
        "hl7-genomics-reporting-stu2-transcribed/Observation-GenotypeExample1.stu2.json",
        [Expect("HLA-B", carriers=("*15:02",))],
    ),
    Read(
        "hl7-genomics-reporting-stu2-transcribed/Observation-Pgx-geno-1001.stu2.json",
        [Expect("CYP2C19", diplotype="*2/*2")],
    ),
    NoResult(
        "hl7-genomics-reporting-stu2-transcribed/Observation-TherapeuticImplicationExample1.stu2.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu2-transcribed/Observation-TxImp01.stu2.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    Read(
        "hl7-genomics-reporting-stu3/Bundle-bundle-CG-IG-HLA-FullBundle-01.json",
        [
            Expect("HLA-B", diplotype="*15:01:01G/*57:01:01G"),
            Expect("HLA-C", diplotype="*01:02:01G/*03:04:01G"),
            Expect("HLA-A", diplotype="*01:01:01G/*01:02"),
        ],
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Bundle-bundle-CYP2C19.json",
        "variant-level report only: no genotype to read (calling from variants is out of scope)",
    ),
    Read(
        "hl7-genomics-reporting-stu3/Bundle-bundle-pgxexample.json",
        [Expect("CYP2C9", diplotype="*4/*35B", phenotype="Rapid Metabolizer")],
    ),
    Read(
        "hl7-genomics-reporting-stu3/DiagnosticReport-GenomicReportExample01.json",
        [Expect("HLA-B", carriers=("*15:02",))],
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/DiagnosticReport-PGxGenomicReportEMERGE.json",
        "report alone: its result Observations are not in the file",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/DiagnosticReport-diagnosticreport-hla-glstring-r4.json",
        "report alone: its result Observations are not in the file",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/MedicationStatement-MedicationStatementWarfarin.json",
        "medication, not a result",
    ),
    Read(
        "hl7-genomics-reporting-stu3/Observation-GenotypeExample1.json",
        [Expect("HLA-B", carriers=("*15:02",))],
    ),
    Read(
        "hl7-genomics-reporting-stu3/Observation-GenotypeExamplePharmVar.json",
        [Expect("CYP2D6", diplotype="*7/*1")],
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-HLA-B-haplotype1.json",
        "unreadable: HLA-B genotype does not establish any allele of interest",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-HLA-B-haplotype2.json",
        "unreadable: HLA-B genotype does not establish any allele of interest",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-HaplotypeExamplePharmVar01.json",
        "unreadable: 1 CYP2D6 haplotype(s): a diplotype needs two",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-HaplotypeExamplePharmVar02.json",
        "unreadable: 1 CYP2D6 haplotype(s): a diplotype needs two",
    ),
    Read(
        "hl7-genomics-reporting-stu3/Observation-Pgx-geno-1001.json",
        [Expect("CYP2C19", diplotype="*2/*2")],
    ),
    Read(
        "hl7-genomics-reporting-stu3/Observation-Pgx-geno-1002.json",
        [Expect("CYP2C9", diplotype="*1/*1")],
    ),
    Read(
        "hl7-genomics-reporting-stu3/Observation-Pgx-geno-1003.json",
        [Expect("VKORC1", diplotype="rs9923231 reference (C)/rs9923231 variant (T)")],
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1011.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1012.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1013.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1014.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1015.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1016.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1017.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1018.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1019.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1020.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-Pgx-var-1021.json",
        "variant Observation (69548-6): calling a diplotype from variants is out of scope",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TherapeuticImplicationExample1.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TxImp01.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TxImp02.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TxImp03.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TxImp04.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TxImp05.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-TxImp06.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    Read(
        "hl7-genomics-reporting-stu3/Observation-genotype-hla-a-glstring-r4.json",
        [Expect("HLA-A", diplotype="*03:01:01:01/*30:01:01")],
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Observation-haplotype-hla-a-1-r4.json",
        "unreadable: HLA-A genotype does not establish any allele of interest",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Parameters-FindPopulationSpecificHaplotypesOutput.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Parameters-FindPopulationTxImplicationsOutput.json",
        "population-level operation output: counts over many patients, no patient result",
    ),
    Read(
        "hl7-genomics-reporting-stu3/Parameters-FindSubjectHaplotypesOutput.json",
        [Expect("CYP2D6", diplotype="*1/*1"), Expect("CYP2C19", diplotype="*1/*2")],
    ),
    Read(
        "hl7-genomics-reporting-stu3/Parameters-FindSubjectSpecificHaplotypesOutput.json",
        [Expect("HLA-A", non_carriers=("*31:01",))],
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Parameters-FindSubjectTxImplicationsOutput.json",
        "unreadable: implication: the genotype it is derived from is not among the results",
    ),
    NoResult("hl7-genomics-reporting-stu3/Patient-CGPatientExample01.json", "Patient resource"),
    NoResult(
        "hl7-genomics-reporting-stu3/Procedure-PGXGenomicStudy.json", "genomic study Procedure"
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Procedure-PGXGenomicStudyAnalysis.json",
        "genomic study Procedure",
    ),
    NoResult("hl7-genomics-reporting-stu3/Specimen-GenomicSpecimenExample01.json", "Specimen"),
    NoResult(
        "hl7-genomics-reporting-stu3/Task-MedicationRecommendationExample1.json",
        "recommendation Task: carries no genotype or phenotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Task-PGxRecEx01.json",
        "recommendation Task: carries no genotype or phenotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Task-PGxRecEx02.json",
        "recommendation Task: carries no genotype or phenotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Task-PGxRecEx03.json",
        "recommendation Task: carries no genotype or phenotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Task-PGxRecEx04.json",
        "recommendation Task: carries no genotype or phenotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/Task-PGxRecEx05.json",
        "recommendation Task: carries no genotype or phenotype",
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/CodeSystem-pharmgkb-evidence-level-custom-cs.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/CodeSystem-tbd-codes-cs.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/OperationDefinition-find-subject-haplotypes.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/OperationDefinition-find-subject-specific-haplotypes.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/OperationDefinition-find-subject-tx-implications.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-finding.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-genomic-base.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-genomic-report.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-genotype.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-haplotype.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-implication.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-medication-recommendation.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-therapeutic-implication.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/StructureDefinition-variant.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/ValueSet-genetic-therapeutic-implications-vs.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/ValueSet-hgnc-vs.json",
        CONFORMANCE,
    ),
    NoResult(
        "hl7-genomics-reporting-stu3/conformance/package.json",
        CONFORMANCE,
    ),
]


def _load(shared: Path, path: str) -> object:
    return json.loads((shared / EXAMPLES / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", [r for r in TABLE if isinstance(r, Read)], ids=lambda r: r.path)
def test_example_read(kb: KnowledgeBase, shared: Path, row: Read) -> None:
    readout = read_genotypes([_load(shared, row.path)], kb.genes_by_hgnc, kb=kb)

    got = [
        Expect(
            gene,
            r.diplotype,
            r.reported_phenotype,
            tuple(sorted(r.carriers)),
            tuple(sorted(r.non_carriers)),
        )
        for gene, r in readout.results.items()
    ]
    assert sorted(got, key=lambda e: e.gene) == sorted(row.expected, key=lambda e: e.gene)


@pytest.mark.parametrize(
    "row",
    [r for r in TABLE if isinstance(r, NoResult) and r.path.endswith(".json")],
    ids=lambda r: r.path,
)
def test_example_without_patient_result(kb: KnowledgeBase, shared: Path, row: NoResult) -> None:
    readout = read_genotypes([_load(shared, row.path)], kb.genes_by_hgnc, kb=kb)

    reasons = "; ".join(u.reason for u in readout.unreadable)
    assert readout.results == {}
    # The reasons the reader gave are the ones the table documents.
    assert reasons in row.reason


def test_every_example_is_in_the_table(shared: Path) -> None:
    folder = shared / EXAMPLES
    on_disk = {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.name != "MANIFEST.md"
    }

    assert on_disk == {row.path for row in TABLE}
