"""Structure rules, MPI001–MPI005: can the document be read at all?

These are raised by the load and schema stages of the pipeline (they have no check
function); they are registered here so that the catalogue, docs and SARIF descriptors list
them with the same rationale and remedy as every other rule. No configuration may silence
or re-level them.
"""
from mpistd.rules.registry import rule

FAMILY = "structure"

rule(
    "MPI001", severity="error", family=FAMILY, pointer='"" (with line:column)',
    title="document cannot be read or parsed",
    rationale="A dataset that is not valid UTF-8 JSON or YAML (syntax error, NaN/Infinity literals, "
              "duplicate keys, custom YAML tags) cannot be judged at all; other tools may read it differently.",
    remedy="Fix the syntax at the line and column shown; write numbers as finite JSON numbers, "
           "keep each key once, save the file as UTF-8.",
    sources=("RFC 8259 (JSON)", "STANDARD.md, Conventions"),
)(None)

rule(
    "MPI002", severity="error", family=FAMILY, pointer="the violating value (or the object missing a required key)",
    title="schema violation",
    rationale="The JSON Schema of the standard is the contract that lets others read the dataset: "
              "required fields, units fixed by field name, enumerations and conditional requirements.",
    remedy="Change the value at the pointer as the message says; see the field's description in docs/standard.md.",
    sources=("schemas/1.0, schemas/1.1", "JSON Schema draft 2020-12"),
)(None)

rule(
    "MPI003", severity="error", family=FAMILY, pointer="/schema_version",
    title="unknown schema_version",
    rationale="A document is read against the version of the standard it names; an unknown version "
              "cannot be checked, so nothing else is reported.",
    remedy='Write "schema_version": "1.1" (or "1.0" for a document written for 1.0), as a string, or upgrade mpistd if the document uses a newer version.',
    sources=("STANDARD.md, Top level",),
)(None)

rule(
    "MPI004", severity="error", family=FAMILY, pointer="the referencing field, or the second of two equal ids",
    title="dangling reference or duplicate id",
    rationale="Calibrations and quantifications point at tracers, acquisitions and calibrations by id; "
              "a reference to nothing, or two objects with one id, makes the dataset ambiguous.",
    remedy="Make each id unique within its list and make every reference name an existing id.",
    sources=("STANDARD.md, Conventions",),
)(None)

rule(
    "MPI005", severity="error", family=FAMILY, pointer='"" or the image',
    title="document or image over the size limit",
    rationale="Untrusted datasets are read with bounded memory and time; a document over 20 MiB or an "
              "image over 256 MiB (defaults) is refused before it is read.",
    remedy="Split the dataset, or raise [limits] document_mib / image_mib in mpistd.toml if the size is intended.",
    sources=("SECURITY.md",),
)(None)
